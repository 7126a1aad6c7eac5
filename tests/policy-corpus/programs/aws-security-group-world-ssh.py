# expect: [MAAS-NET-005]
"""A security group admitting SSH from the whole internet."""
import kit
import pulumi_aws as aws

aws.ec2.SecurityGroup("bastion", description="bastion", vpc_id="vpc-0123456789abcdef0", tags=kit.TAGS, ingress=[
    {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}])
