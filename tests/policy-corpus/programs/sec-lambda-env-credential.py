# expect: [MAAS-SEC-019]
"""A Lambda function with an API token in its environment."""
import kit
import pulumi_aws as aws

aws.lambda_.Function("hook", role="arn:aws:iam::111122223333:role/hook", runtime="python3.12", handler="main.handler",
                     s3_bucket="acme-code", s3_key="hook.zip", tags=kit.TAGS,
                     environment={"variables": {"GITHUB_TOKEN": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}})
