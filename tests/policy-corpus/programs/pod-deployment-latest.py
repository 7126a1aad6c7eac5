# expect: [MAAS-K8S-011]
"""A Deployment running a mutable tag (latest)."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(image="ghcr.io/acme/intake-agent:latest")]))
