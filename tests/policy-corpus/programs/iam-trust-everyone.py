# expect: [MAAS-IAM-003]
"""A role anyone may assume (Principal AWS *)."""
import json

import kit
import pulumi_aws as aws

aws.iam.Role("open", tags=kit.TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
