# advise: [MAAS-NET-015]
"""An internet-facing ALB serving HTTPS, logging its requests, with no web ACL in front."""
import kit
import pulumi_aws as aws

lb = aws.lb.LoadBalancer("public", load_balancer_type="application", internal=False, drop_invalid_header_fields=True,
                         subnets=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
                         access_logs={"enabled": True, "bucket": "acme-elb-logs", "prefix": "public"}, tags=kit.TAGS)
group = aws.lb.TargetGroup("public-targets", port=8080, protocol="HTTPS", target_type="ip", vpc_id="vpc-0123456789abcdef0",
                           tags=kit.TAGS)
aws.lb.Listener("public-https", load_balancer_arn=lb.arn, port=443, protocol="HTTPS",
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                certificate_arn="arn:aws:acm:us-east-1:111122223333:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                default_actions=[{"type": "forward", "target_group_arn": group.arn}], tags=kit.TAGS)
