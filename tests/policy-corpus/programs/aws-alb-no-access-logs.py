# advise: [MAAS-LOG-005]
"""An internal ALB serving HTTPS that keeps no access log of the requests it serves."""
import kit
import pulumi_aws as aws

lb = aws.lb.LoadBalancer("internal", load_balancer_type="application", internal=True, drop_invalid_header_fields=True,
                         subnets=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], tags=kit.TAGS)
group = aws.lb.TargetGroup("internal-targets", port=8080, protocol="HTTPS", target_type="ip",
                           vpc_id="vpc-0123456789abcdef0", tags=kit.TAGS)
aws.lb.Listener("internal-https", load_balancer_arn=lb.arn, port=443, protocol="HTTPS",
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                certificate_arn="arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                default_actions=[{"type": "forward", "target_group_arn": group.arn}], tags=kit.TAGS)
