# expect: [MAAS-POL-005]
# config:
#   maas:policy:
#     enforcement:
#       MAAS-K8S-002: {level: disabled, reason: "debug pods need it this week", expires: 2027-01-15}
"""A team stack that switches a platform rule off for itself and runs a privileged pod."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(privileged=True))]))
