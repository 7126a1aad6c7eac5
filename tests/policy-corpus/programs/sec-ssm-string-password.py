# expect: [MAAS-SEC-019]
"""A plain String SSM parameter holding a password."""
import kit
import pulumi_aws as aws

aws.ssm.Parameter("db-password", type="String", value="Sup3rS3cret!", tags=kit.TAGS)
