# expect: [MAAS-K8S-001]
"""A Job running as root."""
import kit
import pulumi_kubernetes as k8s

k8s.batch.v1.Job("migrate", metadata=kit.metadata("migrate"), spec={"template": {
    "metadata": {"labels": kit.LABELS},
    "spec": kit.pod_spec(restartPolicy="Never", securityContext={"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
                         containers=[kit.container(securityContext=kit.security(runAsNonRoot=None))]),
}})
