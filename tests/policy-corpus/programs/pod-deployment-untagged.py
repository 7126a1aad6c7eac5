# expect: [MAAS-K8S-011]
"""A Deployment running an untagged image from a registry with a port."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(image="registry.acme.internal:5000/intake-agent")]))
