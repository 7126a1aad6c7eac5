# expect: [MAAS-K8S-002]
"""A CronJob whose container is privileged."""
import kit
import pulumi_kubernetes as k8s

k8s.batch.v1.CronJob("nightly", metadata=kit.metadata("nightly"), spec={"schedule": "0 3 * * *", "jobTemplate": {"spec": {
    "template": {"metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(
        restartPolicy="Never", containers=[kit.container(securityContext=kit.security(privileged=True))])},
}}})
