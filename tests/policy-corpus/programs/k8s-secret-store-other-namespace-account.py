# expect: [MAAS-K8S-019]
"""A SecretStore in the team's namespace acting as another agent's secret-sync service account."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("store", api_version="external-secrets.io/v1", kind="SecretStore",
    metadata=kit.metadata("store"), spec={"provider": {"aws": {
        "service": "SecretsManager", "region": "us-east-1",
        "auth": {"jwt": {"serviceAccountRef": {"name": "secret-sync", "namespace": "maas-dev-agent-research"}}}}}})
