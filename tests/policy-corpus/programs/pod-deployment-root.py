# expect: [MAAS-K8S-001]
"""A Deployment whose pod runs as root (runAsUser 0, runAsNonRoot off)."""
import kit

kit.deployment(spec=kit.pod_spec(securityContext={"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
                                 containers=[kit.container(securityContext=kit.security(runAsNonRoot=None))]))
