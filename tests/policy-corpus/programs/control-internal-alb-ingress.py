# secure: true
"""An internal ALB Ingress (reachable only inside the VPC)."""
import kit
import pulumi_kubernetes as k8s

k8s.networking.v1.Ingress("web", metadata={**kit.metadata("web"), "annotations": {
    "alb.ingress.kubernetes.io/scheme": "internal", "alb.ingress.kubernetes.io/target-type": "ip"}}, spec={
    "ingressClassName": "alb",
    "rules": [{"http": {"paths": [{"path": "/worker", "pathType": "Prefix", "backend": {
        "service": {"name": "worker", "port": {"number": 80}}}}]}}]})
