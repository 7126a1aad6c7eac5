# expect: [MAAS-K8S-029]
"""A ClusterIP Service that routes external IPs to its pods."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.Service("worker", metadata=kit.metadata("worker"), spec={
    "selector": kit.SELECTOR["matchLabels"], "ports": [{"port": 80, "targetPort": "http"}],
    "externalIPs": ["203.0.113.10"]})
