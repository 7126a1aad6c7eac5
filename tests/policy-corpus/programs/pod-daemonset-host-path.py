# expect: [MAAS-K8S-005]
"""A DaemonSet reading every node's logs through hostPath."""
import kit
import pulumi_kubernetes as k8s

k8s.apps.v1.DaemonSet("shipper", metadata=kit.metadata("shipper"), spec={
    "selector": kit.SELECTOR,
    "template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(volumes=[
        {"name": "tmp", "emptyDir": {}}, {"name": "logs", "hostPath": {"path": "/var/log"}}])}})
