# expect: [MAAS-K8S-002]
# cli: true
"""A Deployment with a privileged container."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(privileged=True))]))
