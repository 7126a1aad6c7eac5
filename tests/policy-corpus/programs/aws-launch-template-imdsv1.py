# expect: [MAAS-SEC-011]
"""A launch template whose instances answer IMDSv1."""
import kit
import pulumi_aws as aws

key = kit.key("ebs-key")
aws.ec2.LaunchTemplate("workers", image_id="ami-0123456789abcdef0", instance_type="m6i.large", tags=kit.TAGS,
                       metadata_options={"http_endpoint": "enabled", "http_tokens": "optional", "http_put_response_hop_limit": 1},
                       block_device_mappings=[{"device_name": "/dev/xvda", "ebs": {"encrypted": "true", "kms_key_id": key.arn}}])
