# expect: [MAAS-K8S-014]
"""A Deployment running as the namespace's default service account."""
import kit

kit.deployment(spec=kit.pod_spec(serviceAccountName="default"))
