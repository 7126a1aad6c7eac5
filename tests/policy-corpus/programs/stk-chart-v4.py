# expect: [MAAS-STK-009]
"""A Helm Chart v4 (rendered by a multi-language component the offline plan cannot open)."""
import pulumi_kubernetes as k8s

k8s.helm.v4.Chart("redis", chart="oci://registry-1.docker.io/bitnamicharts/redis", version="20.6.1", namespace="intake")
