# secure: true
"""A namespace the stack creates for itself, auto-named, restricted, with a default-deny NetworkPolicy and a
Deployment in it: the pods are selected, and both name the namespace by engine reference."""
import kit
import pulumi_kubernetes as k8s

namespace = k8s.core.v1.Namespace("batch", metadata={"labels": {
    **kit.LABELS, "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted"}})
name = namespace.metadata.name
k8s.networking.v1.NetworkPolicy("deny-all", metadata={"name": "deny-all", "namespace": name, "labels": kit.LABELS},
                                spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
k8s.apps.v1.Deployment("worker", metadata={"name": "worker", "namespace": name, "labels": kit.LABELS},
                       spec={"replicas": 2, "selector": kit.SELECTOR, "template": kit.template()})
