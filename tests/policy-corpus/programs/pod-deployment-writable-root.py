# expect: [MAAS-K8S-008]
"""A Deployment with a writable root filesystem."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(readOnlyRootFilesystem=False))]))
