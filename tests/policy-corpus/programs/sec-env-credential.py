# expect: [MAAS-SEC-015]
"""A Deployment with an AWS secret access key written into its environment."""
import kit

kit.deployment(spec=kit.pod_spec(containers=[kit.container(env=[
    {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"},
    {"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}])]))
