# expect: [MAAS-K8S-018]
"""A Service of type NodePort."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.Service("nodeport", metadata=kit.metadata("nodeport"), spec={
    "type": "NodePort", "selector": kit.SELECTOR["matchLabels"], "ports": [{"port": 80, "targetPort": "http"}]})
