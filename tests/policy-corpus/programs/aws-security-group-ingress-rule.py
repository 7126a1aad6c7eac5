# expect: [MAAS-NET-005]
"""A standalone VPC ingress rule admitting PostgreSQL from anywhere."""
import kit
import pulumi_aws as aws

group = aws.ec2.SecurityGroup("db", description="db", vpc_id="vpc-0123456789abcdef0", tags=kit.TAGS)
aws.vpc.SecurityGroupIngressRule("db-world", security_group_id=group.id, ip_protocol="tcp", from_port=5432,
                                 to_port=5432, cidr_ipv4="0.0.0.0/0", tags=kit.TAGS)
