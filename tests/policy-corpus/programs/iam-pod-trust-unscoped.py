# expect: [MAAS-IAM-005]
"""A workload role that every pod of the cluster may assume (Pod Identity trust without conditions)."""
import json

import kit
import pulumi_aws as aws

aws.iam.Role("worker", tags=kit.TAGS, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}))
