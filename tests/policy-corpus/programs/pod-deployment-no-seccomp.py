# expect: [MAAS-K8S-007]
"""A Deployment with no seccomp profile anywhere."""
import kit

kit.deployment(spec=kit.pod_spec(securityContext={"runAsNonRoot": True, "runAsUser": 10001},
                                 containers=[kit.container(securityContext=kit.security(seccompProfile=None))]))
