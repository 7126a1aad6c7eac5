# expect: [MAAS-NET-012]
"""An internal ALB that passes invalid header fields on (request smuggling)."""
import kit
import pulumi_aws as aws

aws.lb.LoadBalancer("internal", load_balancer_type="application", internal=True,
                    subnets=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"], tags=kit.TAGS)
