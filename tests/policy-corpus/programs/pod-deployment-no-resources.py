# expect: [MAAS-K8S-009]
"""A Deployment with no requests or limits."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(resources=None)]))
