# advise: [MAAS-K8S-035]
"""A ConfigMap that names no namespace, so it lands in default, outside every agent namespace."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap("settings", metadata={"name": "settings", "labels": kit.LABELS}, data={"mode": "batch"})
