# expect: [MAAS-K8S-006]
"""A Deployment adding CAP_SYS_ADMIN."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(securityContext=kit.security(
    capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]}))]))
