# expect: [MAAS-K8S-013]
"""A Deployment that mounts its service-account token."""
import kit

kit.deployment(spec=kit.pod_spec(automountServiceAccountToken=True))
