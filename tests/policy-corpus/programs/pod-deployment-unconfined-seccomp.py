# expect: [MAAS-K8S-007]
"""A Deployment whose container opts out of seccomp (Unconfined), overriding the pod's profile."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(
    seccompProfile={"type": "Unconfined"}))]))
