# advise: [MAAS-IAM-009]
"""A role every principal of an account may assume: the trust names the account's root, with no condition on the
caller."""
import json

import kit
import pulumi_aws as aws

aws.iam.Role("reader", tags=kit.TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}))
