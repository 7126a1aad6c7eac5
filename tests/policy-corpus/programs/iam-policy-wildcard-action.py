# expect: [MAAS-IAM-001]
"""An identity policy allowing s3:* on one bucket."""
import json

import kit
import pulumi_aws as aws

aws.iam.Policy("bucket-admin", tags=kit.TAGS, policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::acme-claims", "arn:aws:s3:::acme-claims/*"]}]}))
