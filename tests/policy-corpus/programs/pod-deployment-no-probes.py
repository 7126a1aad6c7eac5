# expect: [MAAS-K8S-010]
"""A long-running Deployment with no probes."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(readinessProbe=None, livenessProbe=None)]))
