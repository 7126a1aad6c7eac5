# expect: [MAAS-K8S-008]
"""A StatefulSet whose container writes to its root filesystem (readOnlyRootFilesystem unset)."""
import kit
import pulumi_kubernetes as k8s

k8s.apps.v1.StatefulSet("cache", metadata=kit.metadata("cache"), spec={
    "serviceName": "cache", "replicas": 2, "selector": kit.SELECTOR,
    "template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(
        containers=[kit.container(securityContext=kit.security(readOnlyRootFilesystem=None))])}})
kit.companions("cache", "StatefulSet")
