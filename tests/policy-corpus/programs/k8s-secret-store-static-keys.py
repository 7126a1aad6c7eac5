# expect: [MAAS-K8S-019]
"""A SecretStore authenticating with static access keys from a Kubernetes Secret."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("store", api_version="external-secrets.io/v1", kind="SecretStore",
    metadata=kit.metadata("store"), spec={"provider": {"aws": {
        "service": "SecretsManager", "region": "us-east-1",
        "auth": {"secretRef": {"accessKeyIDSecretRef": {"name": "aws", "key": "id"},
                               "secretAccessKeySecretRef": {"name": "aws", "key": "secret"}}}}}})
