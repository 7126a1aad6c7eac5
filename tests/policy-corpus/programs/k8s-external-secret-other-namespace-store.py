# expect: [MAAS-K8S-020]
"""An ExternalSecret whose data entry reads through a ClusterSecretStore while the spec names the
namespace's own store."""
import kit
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("mixed", api_version="external-secrets.io/v1", kind="ExternalSecret",
    metadata=kit.metadata("mixed"), spec={
        "secretStoreRef": {"kind": "SecretStore", "name": "intake"},
        "target": {"name": "mixed"},
        "data": [{"secretKey": "token", "remoteRef": {"key": "maas-dev/research/anthropic-api-key"},
                  "sourceRef": {"storeRef": {"kind": "ClusterSecretStore", "name": "platform"}}}]})
