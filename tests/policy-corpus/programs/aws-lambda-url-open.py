# expect: [MAAS-NET-013]
"""A Lambda function URL anyone may call (authorization NONE)."""
import kit
import pulumi_aws as aws

aws.lambda_.FunctionUrl("hook-url", function_name="maas-dev-hook", authorization_type="NONE")
