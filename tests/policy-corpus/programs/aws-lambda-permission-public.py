# expect: [MAAS-NET-014]
"""A Lambda permission letting any principal invoke the function."""
import pulumi_aws as aws

aws.lambda_.Permission("hook-anyone", action="lambda:InvokeFunction", function="maas-dev-hook", principal="*")
