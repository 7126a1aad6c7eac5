# expect: [MAAS-NET-008]
"""A subnet that gives every instance a public address."""
import kit
import pulumi_aws as aws

aws.ec2.Subnet("public", vpc_id="vpc-0123456789abcdef0", cidr_block="10.0.200.0/24", map_public_ip_on_launch=True,
               tags=kit.TAGS)
