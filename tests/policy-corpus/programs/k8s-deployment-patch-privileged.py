# expect: [MAAS-K8S-002]
"""A DeploymentPatch making a container of an existing Deployment privileged."""
import pulumi_kubernetes as k8s

k8s.apps.v1.DeploymentPatch("coredns-privileged", metadata={"name": "coredns", "namespace": "kube-system"}, spec={
    "template": {"spec": {"containers": [{"name": "coredns", "securityContext": {"privileged": True}}]}}})
