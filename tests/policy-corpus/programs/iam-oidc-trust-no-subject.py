# expect: [MAAS-IAM-007]
"""A role any GitHub Actions workflow may assume (the OIDC trust names no subject)."""
import json

import kit
import pulumi_aws as aws

aws.iam.Role("deploy", tags=kit.TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},
    "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]}))
