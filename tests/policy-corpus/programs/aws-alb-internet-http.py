# expect: [MAAS-NET-010]
"""An internet-facing ALB forwarding plain HTTP to its targets."""
import kit
import pulumi_aws as aws

lb = aws.lb.LoadBalancer("public", load_balancer_type="application", internal=False, drop_invalid_header_fields=True,
                         subnets=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], tags=kit.TAGS)
group = aws.lb.TargetGroup("public-targets", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-0123456789abcdef0",
                           tags=kit.TAGS)
aws.lb.Listener("public-http", load_balancer_arn=lb.arn, port=80, protocol="HTTP", tags=kit.TAGS,
                default_actions=[{"type": "forward", "target_group_arn": group.arn}])
