# expect: [MAAS-K8S-018]
"""A Service of type LoadBalancer in the agent's namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.Service("public", metadata=kit.metadata("public"), spec={
    "type": "LoadBalancer", "selector": kit.SELECTOR["matchLabels"], "ports": [{"port": 80, "targetPort": "http"}]})
