# expect: [MAAS-K8S-021]
"""A NetworkPolicy opening egress to a public range, split in two halves of the internet."""
import kit
import pulumi_kubernetes as k8s

k8s.networking.v1.NetworkPolicy("allow-halves", metadata=kit.metadata("allow-halves"), spec={
    "podSelector": {}, "policyTypes": ["Egress"],
    "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/1"}}, {"ipBlock": {"cidr": "128.0.0.0/1"}}]}]})
