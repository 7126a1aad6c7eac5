# expect: [MAAS-K8S-028]
"""An internet-facing ALB Ingress serving plain HTTP (no TLS, no redirect)."""
import kit
import pulumi_kubernetes as k8s

k8s.networking.v1.Ingress("web", metadata={**kit.metadata("web"), "annotations": {
    "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "ip",
    "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}]'}}, spec={
    "ingressClassName": "alb",
    "rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "worker", "port": {"number": 80}}}}]}}]})
