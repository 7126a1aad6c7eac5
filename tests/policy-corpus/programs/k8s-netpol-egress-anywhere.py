# expect: [MAAS-K8S-021]
"""A NetworkPolicy opening egress to every address (0.0.0.0/0) for the agent's pods."""
import kit
import pulumi_kubernetes as k8s

k8s.networking.v1.NetworkPolicy("allow-all-egress", metadata=kit.metadata("allow-all-egress"), spec={
    "podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]})
