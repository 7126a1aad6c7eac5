# expect: [MAAS-K8S-012]
# platform: prod
"""A prod Deployment whose image is pinned by tag only."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(image="ghcr.io/acme/intake-agent:2.1.0")]))
