# secure: true
"""A CronJob whose pod meets every pod rule."""
import kit
import pulumi_kubernetes as k8s

k8s.batch.v1.CronJob("nightly", metadata=kit.metadata("nightly"), spec={
    "schedule": "0 3 * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"backoffLimit": 2, "template": {
        "metadata": {"labels": kit.LABELS}, "spec": kit.pod_spec(restartPolicy="Never")}}}})
