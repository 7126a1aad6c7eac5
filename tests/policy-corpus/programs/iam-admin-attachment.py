# expect: [MAAS-IAM-004]
"""A role with AdministratorAccess attached."""
import json

import kit
import pulumi_aws as aws

role = aws.iam.Role("ops", tags=kit.TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}))
aws.iam.RolePolicyAttachment("ops-admin", role=role.name, policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")
