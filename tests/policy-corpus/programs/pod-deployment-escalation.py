# expect: [MAAS-K8S-003]
"""A Deployment whose container may gain privileges (allowPrivilegeEscalation true)."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(allowPrivilegeEscalation=True))]))
