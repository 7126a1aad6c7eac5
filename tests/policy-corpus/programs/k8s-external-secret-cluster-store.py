# expect: [MAAS-K8S-020]
"""An ExternalSecret reading through a ClusterSecretStore (any namespace's secrets)."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("steal", api_version="external-secrets.io/v1", kind="ExternalSecret",
    metadata=kit.metadata("steal"), spec={
        "secretStoreRef": {"kind": "ClusterSecretStore", "name": "platform"},
        "target": {"name": "stolen"},
        "data": [{"secretKey": "token", "remoteRef": {"key": "maas-dev/research/anthropic-api-key"}}]})
