# secure: true
"""Kubernetes objects written the normal Pulumi way, without metadata.name: the provider names
them (<logical name>-<suffix>) and what refers to them uses that name."""
import kit
import pulumi_kubernetes as k8s

config = k8s.core.v1.ConfigMap(
    "settings",
    metadata={"namespace": "intake", "labels": {"team": "claims"}},
    data={"LOG_LEVEL": "info"},
)
