# expect: [MAAS-POL-005]
# config:
#   maas:policy:
#     exemptions:
#       - policy: MAAS-NET-005
#         resources: ["bastion"]
#         reason: "the bastion has to be reachable for the demo"
#         expires: 2027-01-15
"""A team stack that exempts all its resources from a mandatory rule, then opens SSH to the world."""
import kit
import pulumi_aws as aws

aws.ec2.SecurityGroup("bastion", description="bastion", vpc_id="vpc-0123456789abcdef0", tags=kit.TAGS, ingress=[
    {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}])
