# expect: [MAAS-SEC-019]
"""A String SSM parameter whose password is given as insecure_value (shown in clear)."""
import kit
import pulumi_aws as aws

aws.ssm.Parameter("db-password", type="String", insecure_value="Sup3rS3cret!", tags=kit.TAGS)
