# expect: [MAAS-SEC-017]
"""A typed Kubernetes Secret whose stringData is a literal written in the program: the SDK marks
stringData secret, so the plan shows [secret], but the value is in the source."""
import pulumi_kubernetes as k8s

k8s.core.v1.Secret(
    "llm-key",
    metadata={"name": "llm-key", "namespace": "intake", "labels": {"team": "claims"}},
    string_data={"api-key": "not-from-config-0123456789"},
)
