# expect: [MAAS-K8S-004]
"""A Deployment on the node's network namespace."""
import kit

kit.deployment(spec=kit.pod_spec(hostNetwork=True))
