# expect: [MAAS-NET-005]
"""A security group rule admitting every protocol from all IPv6 addresses."""
import kit
import pulumi_aws as aws

group = aws.ec2.SecurityGroup("app", description="app", vpc_id="vpc-0123456789abcdef0", tags=kit.TAGS)
aws.ec2.SecurityGroupRule("app-any", type="ingress", security_group_id=group.id, protocol="-1", from_port=0, to_port=0,
                          ipv6_cidr_blocks=["::/0"])
