# expect: [MAAS-K8S-002]
"""A Deployment whose init container is privileged (the main container is restricted)."""
import kit

kit.deployment(spec=kit.pod_spec(initContainers=[kit.container(name="init", securityContext=kit.security(privileged=True),
                                                               readinessProbe=None, livenessProbe=None)]))
