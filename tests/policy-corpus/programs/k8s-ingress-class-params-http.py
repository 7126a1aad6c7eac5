# expect: [MAAS-K8S-034]
"""IngressClassParams making every Ingress of the class internet-facing, HTTP not redirected."""
import pulumi_kubernetes as k8s

k8s.apiextensions.CustomResource("public-class", api_version="elbv2.k8s.aws/v1beta1", kind="IngressClassParams",
    metadata={"name": "public"}, spec={"scheme": "internet-facing", "listenPorts": [{"protocol": "HTTP", "port": 80}]})
