# expect: [MAAS-STK-010]
"""A CloudFormation stack: its template deploys an IAM user no rule sees."""
import json

import kit
import pulumi_aws as aws

aws.cloudformation.Stack(
    "legacy",
    template_body=json.dumps({"Resources": {"User": {"Type": "AWS::IAM::User"}}}),
    tags=kit.TAGS,
)
