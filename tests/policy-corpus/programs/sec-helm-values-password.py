# expect: [MAAS-SEC-018]
"""A Helm release given an admin password in its values."""
import pulumi_kubernetes as k8s

k8s.helm.v3.Release("redis", chart="redis", version="20.6.1", namespace="intake",
                    repository_opts={"repo": "https://charts.bitnami.com/bitnami"},
                    values={"auth": {"password": "hunter2-but-longer"}})
