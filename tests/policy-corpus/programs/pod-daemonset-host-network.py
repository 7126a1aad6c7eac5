# expect: [MAAS-K8S-004]
"""A DaemonSet on every node's network namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.apps.v1.DaemonSet("shipper", metadata=kit.metadata("shipper"), spec={
    "selector": kit.SELECTOR,
    "template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(hostNetwork=True)}})
