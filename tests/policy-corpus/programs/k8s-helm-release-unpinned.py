# expect: [MAAS-K8S-017]
"""A Helm release with no chart version, from a plain-HTTP repository."""
import pulumi_kubernetes as k8s

k8s.helm.v3.Release("redis", chart="redis", namespace="intake",
                    repository_opts={"repo": "http://charts.example.com"})
