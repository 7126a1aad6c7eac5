# expect: [MAAS-K8S-019]
"""A SecretStore that assumes another role from the namespace's identity (role chaining)."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("store", api_version="external-secrets.io/v1", kind="SecretStore",
    metadata=kit.metadata("store"), spec={"provider": {"aws": {
        "service": "SecretsManager", "region": "us-east-1",
        "role": "arn:aws:iam::111122223333:role/maas-dev-agent-research",
        "auth": {"jwt": {"serviceAccountRef": {"name": "secret-sync"}}}}}})
