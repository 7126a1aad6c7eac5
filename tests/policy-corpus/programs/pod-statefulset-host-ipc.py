# expect: [MAAS-K8S-004]
"""A StatefulSet sharing the node's IPC namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.apps.v1.StatefulSet("cache", metadata=kit.metadata("cache"), spec={
    "serviceName": "cache", "replicas": 2, "selector": kit.SELECTOR,
    "template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(hostIPC=True)}})
kit.companions("cache", "StatefulSet")
