# expect: [MAAS-STK-010]
"""A resource hook: code the program runs at deploy time, after the bucket is created, with the
deploying identity; no rule sees what it does."""
import kit
import pulumi
import pulumi_aws as aws


def after_create(args):
    pass  # could call any AWS API here


hook = pulumi.ResourceHook("grant-everyone", after_create)
aws.sqs.Queue("jobs", kms_master_key_id="alias/jobs", tags=kit.TAGS,
              opts=pulumi.ResourceOptions(hooks=pulumi.ResourceHookBinding(after_create=[hook])))
