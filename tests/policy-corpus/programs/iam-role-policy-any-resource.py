# expect: [MAAS-IAM-002]
"""An inline role policy naming actions that could be scoped, on Resource *."""
import json

import kit
import pulumi_aws as aws

role = aws.iam.Role("worker", tags=kit.TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))
aws.iam.RolePolicy("worker-policy", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": "*"}]}))
