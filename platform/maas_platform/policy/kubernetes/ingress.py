"""MAAS-K8S-028, 029 and 034: what reaches the internet does so over TLS, and Services route to
no address outside the cluster.

The AWS Load Balancer Controller (chart 3.5.0, app v3.5.0, the version we pin) builds an ALB per
IngressGroup from annotations, read at v3.5.0 on 2026-12-02 (docs/guide/ingress/annotations.md,
pkg/ingress/model_build_listener.go computeIngressListenPorts): ``scheme`` is ``internal`` unless
set to ``internet-facing``; ``listen-ports`` is a JSON list of ``{"HTTP"|"HTTPS": port}``,
defaulting to HTTPS 443 when a certificate is named explicitly (``certificate-arn``, or the
IngressClassParams' ``certificateArn``) and to HTTP 80 otherwise; ``ssl-redirect: '<port>'`` turns
every HTTP listener of the group into a redirect to HTTPS. IngressClassParams
(docs/guide/ingress/ingress_class.md) ``spec.scheme`` overrides the annotation for every Ingress
of the class, and ``spec.sslRedirectPort`` redirects as the annotation does. An Ingress of another
class is judged by ``spec.tls``: no controller of the platform serves it, and whether its load
balancer is public is not in the object.

Gateway API Gateways are not judged yet: the controller's ALBGatewayAPI feature gate defaults to
on in v3.5.0 (pkg/config/feature_gates.go), but the platform installs no Gateway API CRDs.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource, resource_rule
from .tenancy import ALB, INGRESS_TYPES, SERVICE_TYPES

ALB_CLASS = "alb"
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
INGRESS_CLASS_PARAMS_TYPES: tuple[str, ...] = ("kubernetes:elbv2.k8s.aws/*:IngressClassParams",)
INTERNET_FACING = "internet-facing"


def listen_ports(annotations: Mapping[str, Any]) -> Any:
    """The ALB's listeners of an Ingress: ``[(protocol, port)]``, or None when the annotation is
    not valid JSON of that shape (the controller refuses the Ingress then)."""
    raw = annotations.get(f"{ALB}listen-ports")
    if raw is None:
        return [("HTTPS", 443)] if annotations.get(f"{ALB}certificate-arn") else [("HTTP", 80)]
    try:
        entries = json.loads(str(raw))
    except ValueError:
        return None
    if not isinstance(entries, list):
        return None
    return [(str(protocol), port) for entry in entries if isinstance(entry, Mapping)
            for protocol, port in entry.items()]


@resource_rule(
    "MAAS-K8S-028",
    title="Internet-facing Ingresses serve HTTPS only, or redirect HTTP to HTTPS",
    description="An Ingress of the AWS Load Balancer Controller with scheme internet-facing listens only on HTTPS "
                "ports (listen-ports; HTTP 80 is the default when no certificate-arn is named), or sets ssl-redirect "
                "so that every HTTP listener answers with a redirect. An Ingress of any other class has spec.tls "
                "(whether its load balancer is public is not in the object). Plain HTTP from the internet carries "
                "requests, tokens and answers readable and changeable on the way.",
    severity="high",
    remediation="Expose the agent through maas:agents[].expose (HTTPS 443 with the environment's certificate); "
                "or set alb.ingress.kubernetes.io/listen-ports '[{\"HTTPS\": 443}]' with certificate-arn, or "
                "ssl-redirect '443'.",
    types=INGRESS_TYPES,
    frameworks={"SOC 2": ["CC6.7"], "NIST 800-53": ["SC-8", "SC-7"]},
)
def ingress_tls(resource: Resource, context: Context) -> Iterator[Outcome]:
    annotations = resource.get("metadata.annotations")
    if annotations == UNKNOWN:
        yield NotEvaluable("metadata.annotations")
        return
    annotations = annotations if isinstance(annotations, Mapping) else {}
    klass = resource.get("spec.ingressClassName") or annotations.get(INGRESS_CLASS_ANNOTATION)
    if klass == UNKNOWN:
        yield NotEvaluable("spec.ingressClassName")
        return
    if klass != ALB_CLASS:
        tls = resource.get("spec.tls")
        if tls == UNKNOWN:
            yield NotEvaluable("spec.tls")
        elif not tls:
            yield f"Ingress of class {klass or '(none)'} has no spec.tls"
        return
    scheme = annotations.get(f"{ALB}scheme")
    if scheme == UNKNOWN:
        yield NotEvaluable(f"metadata.annotations.{ALB}scheme")
        return
    if scheme != INTERNET_FACING:
        return  # internal, the default; an IngressClassParams scheme is judged by MAAS-K8S-034
    if annotations.get(f"{ALB}ssl-redirect") not in (None, ""):
        return
    for key in (f"{ALB}listen-ports", f"{ALB}certificate-arn"):
        if annotations.get(key) == UNKNOWN:
            yield NotEvaluable(f"metadata.annotations.{key}")
            return
    ports = listen_ports(annotations)
    if ports is None:
        yield f"{ALB}listen-ports is not a JSON list of listeners"
        return
    plain = sorted({f"{protocol} {port}" for protocol, port in ports if protocol != "HTTPS"})
    if plain:
        yield f"the internet-facing Ingress listens on {', '.join(plain)} without ssl-redirect"


@resource_rule(
    "MAAS-K8S-034",
    title="Internet-facing IngressClassParams redirect HTTP to HTTPS",
    description="IngressClassParams of the AWS Load Balancer Controller with spec.scheme internet-facing make every "
                "Ingress of their class internet-facing, whatever its annotations say; they set sslRedirectPort, so "
                "that no Ingress of the class serves plain HTTP to the internet.",
    severity="high",
    remediation="Set spec.sslRedirectPort: '443' (and spec.certificateArn), or leave spec.scheme unset and expose "
                "agents through maas:agents[].expose.",
    types=INGRESS_CLASS_PARAMS_TYPES,
    frameworks={"SOC 2": ["CC6.7"], "NIST 800-53": ["SC-8", "SC-7"]},
)
def ingress_class_params_tls(resource: Resource, context: Context) -> Iterator[Outcome]:
    for path in ("spec.scheme", "spec.sslRedirectPort"):
        if resource.unknown_at(path) is not None:
            yield NotEvaluable(str(resource.unknown_at(path)))
            return
    if resource.get("spec.scheme") == INTERNET_FACING and not resource.get("spec.sslRedirectPort"):
        yield "spec.scheme is internet-facing and spec.sslRedirectPort is not set"


@resource_rule(
    "MAAS-K8S-029",
    title="Services route no external IPs and open no load balancer to every address",
    description="No Service lists spec.externalIPs: the cluster then routes traffic for those addresses to the "
                "Service's pods, from any pod and node, so a Service can take over an outside address "
                "(CVE-2020-8554). No Service's spec.loadBalancerSourceRanges opens it to 0.0.0.0/0 or ::/0 (a "
                "LoadBalancer Service is refused by MAAS-K8S-018 in any case).",
    severity="high",
    remediation="Remove spec.externalIPs; reach outside addresses through the egress proxy and expose the agent "
                "through its Ingress (maas:agents[].expose).",
    types=SERVICE_TYPES,
    frameworks={"SOC 2": ["CC6.6"], "NIST 800-53": ["SC-7"]},
)
def no_external_ips(resource: Resource, context: Context) -> Iterator[Outcome]:
    for path in ("spec.externalIPs", "spec.loadBalancerSourceRanges"):
        value = resource.get(path)
        if value == UNKNOWN or (isinstance(value, list) and UNKNOWN in value):
            yield NotEvaluable(path)
        elif path == "spec.externalIPs" and value:
            yield f"spec.externalIPs routes {', '.join(map(str, value))} to the Service"
        elif isinstance(value, list) and {"0.0.0.0/0", "::/0"} & set(value):
            yield "spec.loadBalancerSourceRanges opens the load balancer to every address"

