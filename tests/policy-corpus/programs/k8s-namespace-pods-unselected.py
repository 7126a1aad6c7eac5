# advise: [MAAS-K8S-036]
"""A namespace of the stack, restricted, whose Deployment no NetworkPolicy selects."""
import kit
import pulumi_kubernetes as k8s

namespace = k8s.core.v1.Namespace("batch", metadata={"name": "batch", "labels": {
    **kit.LABELS, "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted"}})
k8s.apps.v1.Deployment("worker", metadata=kit.metadata("worker", namespace="batch"),
                       spec={"replicas": 2, "selector": kit.SELECTOR, "template": kit.template()})
# A policy that selects other pods only.
k8s.networking.v1.NetworkPolicy("others", metadata=kit.metadata("others", namespace="batch"), spec={
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "other"}}, "policyTypes": ["Ingress", "Egress"]})
