"""MAAS-NET-010..015: what a stack puts on the internet's edge by itself — load balancers, their
listeners and web ACLs, Lambda function URLs and Lambda permissions.

The platform exposes agents through the AWS Load Balancer Controller (an Ingress, judged by the
Kubernetes rules) and creates none of these kinds; a team stack may. Facts these rules rest on,
checked on 2026-12-02:

* pulumi-aws 7.51 SDK docstrings (``pulumi_aws/lb/load_balancer.py``, ``lb/listener.py``,
  ``lb/_inputs.py``, ``elb/load_balancer.py``, ``lambda_/function_url.py``,
  ``lambda_/permission.py``): ``internal`` defaults to false (internet-facing);
  ``loadBalancerType`` defaults to ``application``; ``dropInvalidHeaderFields`` defaults to
  false; an ALB listener's ``protocol`` defaults to HTTP; ``sslPolicy`` defaults to
  ``ELBSecurityPolicy-2016-08``; a redirect's ``protocol`` defaults to ``#{protocol}`` (the
  request's own, so HTTP stays HTTP); action types are forward, redirect, fixed-response,
  authenticate-cognito, authenticate-oidc and jwt-validation; the lb/ tokens carry aliases
  ``aws:elasticloadbalancingv2/...`` and the classic ELB ``aws:elasticloadbalancing/...``; a
  function URL's ``authorizationType`` is ``AWS_IAM`` or ``NONE``; a permission's
  ``functionUrlAuthType`` is ``AWS_IAM`` or ``NONE``.
* AWS ELB guide, "Security policies for your Application Load Balancer" / "... Network Load
  Balancer" (docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html):
  listeners created through the API, CloudFormation or Terraform get ``ELBSecurityPolicy-2016-08``
  (TLS 1.0 and 1.1 included); the recommended policies are the ``ELBSecurityPolicy-TLS13-1-2-*``
  family (TLS 1.3, backward compatible with TLS 1.2; the ``-PQ-2025-09`` ones included);
  ``TLS13-1-0``/``TLS13-1-1`` policies still accept TLS 1.0/1.1.
* AWS Lambda guide, "Control access to Lambda function URLs"
  (docs.aws.amazon.com/lambda/latest/dg/urls-auth.html): ``NONE`` performs no authentication,
  the function's resource policy must then grant ``lambda:InvokeFunctionUrl`` to ``*`` with
  ``lambda:FunctionUrlAuthType`` NONE, which is what makes the URL public.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ..core import Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .helpers import as_list, is_set, is_true, is_unknown, mapping, number, pairing, undecided

LOAD_BALANCERS = (names.LB_LOAD_BALANCER, names.ALB_LOAD_BALANCER, names.ELBV2_LOAD_BALANCER)
LISTENERS = (names.LB_LISTENER, names.ALB_LISTENER, names.ELBV2_LISTENER)
LISTENER_RULES = (names.LB_LISTENER_RULE, names.ALB_LISTENER_RULE, names.ELBV2_LISTENER_RULE)
CLASSIC_LOAD_BALANCERS = (names.ELB_LOAD_BALANCER, names.ELB_LOAD_BALANCER_ALIAS)

# Security policies that keep TLS 1.2 as the floor and offer TLS 1.3 (the AWS-recommended family).
CURRENT_TLS_POLICY_PREFIXES = ("ELBSecurityPolicy-TLS13-1-2-", "ELBSecurityPolicy-TLS13-1-3-")
AWS_DEFAULT_TLS_POLICY = "ELBSecurityPolicy-2016-08"
ENCRYPTED_PROTOCOLS = ("HTTPS", "TLS")
# Actions of a plain-HTTP listener that carry nothing of the application: a redirect to HTTPS,
# a constant response.
SAFE_PLAIN_ACTIONS = ("redirect", "fixed-response")
# Lambda permission inputs that limit a '*' principal to known callers.
LAMBDA_SOURCE_KEYS = ("sourceArn", "sourceAccount", "principalOrgId")
HTTP_PORT = 80


def _upper(value: Any) -> Optional[str]:
    return value.upper() if isinstance(value, str) else None


def action_problem(action: Any, where: str) -> Optional[Union[str, NotEvaluable]]:
    """Why one action of a plain-HTTP listener (or rule) serves the application in clear: None
    for a redirect to HTTPS or a fixed response."""
    if is_unknown(action):
        return NotEvaluable(where)
    action = mapping(action)
    kind = action.get("type")
    if is_unknown(kind):
        return NotEvaluable(f"{where}.type")
    if kind == "fixed-response":
        return None
    if kind == "redirect":
        protocol = mapping(action.get("redirect")).get("protocol")
        if is_unknown(protocol):
            return NotEvaluable(f"{where}.redirect.protocol")
        if _upper(protocol) == "HTTPS":
            return None
        return f"{where} redirects to {protocol or '#{protocol} (unset: the same plain HTTP)'}, not HTTPS"
    return f"{where} is {kind or 'unset'}: it serves the application over plain HTTP"


def actions_problems(resource: Resource, key: str) -> list[Union[str, NotEvaluable]]:
    actions = resource.props.get(key)
    if is_unknown(actions):
        return [NotEvaluable(key)]
    found = [action_problem(a, f"{key}[{i}]") for i, a in enumerate(as_list(actions))]
    if not as_list(actions):
        found.append(f"{key} is empty")
    return [p for p in found if p is not None]


def load_balancer_of(listener: Resource, resources: Sequence[Resource]) -> Optional[Resource]:
    """The load balancer ``listener`` attaches to, paired by engine reference or ARN."""
    return next((lb for lb in resources if lb.type in LOAD_BALANCERS and listener.refers_to(lb, "loadBalancerArn")),
                None)


def plain_http(listener: Resource, lb: Optional[Resource]) -> Optional[Union[str, NotEvaluable]]:
    """How ``listener`` accepts plain HTTP (``"HTTP on port 80"``), None when it does not."""
    protocol = listener.props.get("protocol")
    if is_unknown(protocol):
        return NotEvaluable("protocol")
    port = number(listener.props.get("port"))
    kind = lb.props.get("loadBalancerType") if lb is not None else None
    if protocol is None and kind in ("network", "gateway"):
        return None
    protocol = _upper(protocol) or "HTTP"  # an ALB listener's default
    on = f" on port {int(port)}" if port is not None else ""
    if protocol == "HTTP":
        return f"HTTP{on}"
    if protocol == "TCP" and port == HTTP_PORT:
        return f"TCP{on} (HTTP's port, in clear)"
    return None


def internet_facing(lb: Optional[Resource]) -> Union[bool, NotEvaluable]:
    """Whether ``lb`` faces the internet; not evaluable when the LB is outside the stack or its
    scheme is not known yet."""
    if lb is None:
        return NotEvaluable("loadBalancerArn")
    internal = lb.props.get("internal")
    if is_unknown(internal):
        return NotEvaluable("internal", lb.urn)
    return not is_true(internal)


def public_plain_listener(listener: Resource, resources: Sequence[Resource]
                          ) -> Union[None, str, NotEvaluable]:
    """A description of ``listener`` when it accepts plain HTTP on an internet-facing load
    balancer; None when it does not; not evaluable when that cannot be told."""
    lb = load_balancer_of(listener, resources)
    plain = plain_http(listener, lb)
    if plain is None or isinstance(plain, NotEvaluable):
        return plain
    facing = internet_facing(lb)
    if isinstance(facing, NotEvaluable):
        return facing
    if not facing:
        return None
    internal = lb.props.get("internal") if lb is not None else None
    scheme = "internal false" if internal is not None else "internal unset, default internet-facing"
    return f"{plain} on internet-facing load balancer {lb.name if lb else ''} ({scheme})"


def _at(outcome: Union[str, NotEvaluable], urn: str) -> Union[Finding, NotEvaluable]:
    if isinstance(outcome, NotEvaluable):
        return outcome if outcome.urn else outcome.at(urn)
    return Finding(urn, outcome)


def classic_plain_listeners(elb: Resource) -> Iterator[Union[Finding, NotEvaluable]]:
    internal = elb.props.get("internal")
    listeners = elb.props.get("listeners")
    if is_unknown(listeners):
        yield NotEvaluable("listeners", elb.urn)
        return
    for index, listener in enumerate(as_list(listeners)):
        listener = mapping(listener)
        protocol, port = listener.get("lbProtocol"), listener.get("lbPort")
        if is_unknown(protocol) or is_unknown(port):
            yield NotEvaluable(f"listeners[{index}].{'lbProtocol' if is_unknown(protocol) else 'lbPort'}", elb.urn)
            continue
        plain = _upper(protocol) == "HTTP" or (_upper(protocol) == "TCP" and number(port) == HTTP_PORT)
        if not plain:
            continue
        if is_unknown(internal):
            yield NotEvaluable("internal", elb.urn)
        elif not is_true(internal):
            yield Finding(elb.urn, f"listeners[{index}] serves {protocol} on port {port} on an internet-facing classic "
                                   "load balancer, which cannot redirect to HTTPS")


@stack_rule(
    "MAAS-NET-010",
    title="Internet-facing load balancers serve no plain HTTP",
    description="A listener (or listener rule) that accepts HTTP, or TCP on port 80, on a load balancer that is not "
                "internal does nothing but redirect to HTTPS or return a fixed response; a classic load balancer "
                "facing the internet has no HTTP listener. Listeners pair with their load balancer by engine reference "
                "or ARN; one whose load balancer is outside the stack is not evaluable.",
    severity="high",
    remediation="Serve the application on an HTTPS listener (current TLS policy, ACM certificate) and make the "
                "port-80 listener's default action a redirect with protocol HTTPS; or expose the agent through "
                "maas:agents[].exposure, which the platform's ingress serves on HTTPS only.",
    frameworks={"NIST 800-53": ["SC-8", "SC-8(1)"], "SOC 2": ["CC6.7"]},
)
def no_public_plain_http(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    exposed: dict[str, Union[str, NotEvaluable]] = {}
    for listener in (r for r in resources if r.type in LISTENERS):
        problems = actions_problems(listener, "defaultActions")
        public = public_plain_listener(listener, resources)
        if public is None:
            continue
        exposed[listener.urn] = public
        if not problems:
            continue
        if isinstance(public, NotEvaluable):
            yield _at(public, listener.urn)
            continue
        for problem in problems:
            yield _at(problem if isinstance(problem, NotEvaluable) else f"{public}: {problem}", listener.urn)
    for rule in (r for r in resources if r.type in LISTENER_RULES):
        listener = next((lst for lst in resources if lst.type in LISTENERS and rule.refers_to(lst, "listenerArn")),
                        None)
        problems = actions_problems(rule, "actions")
        if not problems:
            continue
        public = exposed.get(listener.urn) if listener is not None else NotEvaluable("listenerArn")
        if public is None:
            continue
        if isinstance(public, NotEvaluable):
            yield public if public.urn else public.at(rule.urn)
            continue
        for problem in problems:
            yield _at(problem if isinstance(problem, NotEvaluable) else f"listener {listener.name} accepts "
                      f"{public}: {problem}", rule.urn)
    for elb in (r for r in resources if r.type in CLASSIC_LOAD_BALANCERS):
        yield from classic_plain_listeners(elb)


@resource_rule(
    "MAAS-NET-011",
    title="HTTPS and TLS listeners use a current TLS policy",
    description="Every HTTPS or TLS listener names an ELBSecurityPolicy-TLS13-1-2-* or -TLS13-1-3-* security policy "
                "(TLS 1.2 at least, TLS 1.3 offered). Left unset, AWS applies ELBSecurityPolicy-2016-08, which still "
                "accepts TLS 1.0 and 1.1.",
    severity="high",
    remediation="Set sslPolicy to ELBSecurityPolicy-TLS13-1-2-Res-2021-06 (or its -PQ-2025-09 successor, or a FIPS "
                "variant of the same family).",
    types=LISTENERS,
    frameworks={"NIST 800-53": ["SC-8", "SC-13"], "SOC 2": ["CC6.7"]},
)
def current_tls_policy(resource: Resource, context: Context) -> Iterable[Outcome]:
    protocol = resource.props.get("protocol")
    if is_unknown(protocol):
        yield NotEvaluable("protocol")
        return
    if _upper(protocol) not in ENCRYPTED_PROTOCOLS:
        return
    policy = resource.props.get("sslPolicy")
    if is_unknown(policy):
        yield NotEvaluable("sslPolicy")
    elif not is_set(policy):
        yield f"sslPolicy is unset: AWS applies {AWS_DEFAULT_TLS_POLICY}, which accepts TLS 1.0 and 1.1"
    elif not str(policy).startswith(CURRENT_TLS_POLICY_PREFIXES):
        yield f"sslPolicy {policy} is not a TLS 1.3 policy with a TLS 1.2 floor (ELBSecurityPolicy-TLS13-1-2-*)"


@resource_rule(
    "MAAS-NET-012",
    title="Application load balancers drop invalid header fields",
    description="Every application load balancer (loadBalancerType application, the default) sets "
                "dropInvalidHeaderFields true; AWS's default routes malformed headers to the targets (request "
                "smuggling, header injection).",
    severity="medium",
    remediation="Set dropInvalidHeaderFields true on the load balancer.",
    types=LOAD_BALANCERS,
    frameworks={"NIST 800-53": ["SI-10"], "SOC 2": ["CC6.6"]},
)
def drops_invalid_headers(resource: Resource, context: Context) -> Iterable[Outcome]:
    kind = resource.props.get("loadBalancerType")
    if is_unknown(kind):
        yield NotEvaluable("loadBalancerType")
        return
    if kind not in (None, "application"):
        return
    value = resource.props.get("dropInvalidHeaderFields")
    if is_unknown(value):
        yield NotEvaluable("dropInvalidHeaderFields")
    elif not is_true(value):
        yield f"dropInvalidHeaderFields is {value if value is not None else 'unset (default false)'}: headers that " \
              "are not valid reach the targets"


@resource_rule(
    "MAAS-NET-013",
    title="Lambda function URLs authenticate their callers",
    description="A Lambda function URL has authorizationType AWS_IAM; NONE makes the function callable by anyone "
                "on the internet with no authentication.",
    severity="critical",
    remediation="Set authorizationType AWS_IAM and grant lambda:InvokeFunctionUrl to the roles that call it; a "
                "public endpoint goes through the platform's ingress (maas:agents[].exposure), which is HTTPS and "
                "policed.",
    types=[names.LAMBDA_FUNCTION_URL],
    frameworks={"NIST 800-53": ["AC-3", "IA-2", "SC-7"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def function_url_authenticated(resource: Resource, context: Context) -> Iterable[Outcome]:
    value = resource.props.get("authorizationType")
    if is_unknown(value):
        yield NotEvaluable("authorizationType")
    elif value != "AWS_IAM":
        yield f"authorizationType is {value or 'unset'}: the URL invokes the function with no authentication"


def lambda_permission_problems(props: Mapping[str, Any]) -> Iterator[Outcome]:
    url_auth = props.get("functionUrlAuthType")
    if is_unknown(url_auth):
        yield NotEvaluable("functionUrlAuthType")
    elif url_auth == "NONE":
        yield "functionUrlAuthType NONE lets anyone invoke the function through its URL, unauthenticated"
    principal = props.get("principal")
    if is_unknown(principal):
        yield NotEvaluable("principal")
        return
    if principal != "*" or url_auth == "NONE":
        return
    unknown = [key for key in LAMBDA_SOURCE_KEYS if is_unknown(props.get(key))]
    if any(is_set(props.get(key)) and not is_unknown(props.get(key)) for key in LAMBDA_SOURCE_KEYS):
        return
    if unknown:
        yield from (NotEvaluable(key) for key in unknown)
        return
    yield f"principal '*' may call {props.get('action') or 'the function'} from any AWS account: name the caller or " \
          "limit it with sourceArn, sourceAccount or principalOrgId"


@resource_rule(
    "MAAS-NET-014",
    title="Lambda permissions grant nothing to the public",
    description="A Lambda permission neither sets functionUrlAuthType NONE nor grants principal '*' without a "
                "sourceArn, sourceAccount or principalOrgId that limits who calls.",
    severity="critical",
    remediation="Grant the calling service with its sourceArn (or the calling account or role); invoke function URLs "
                "with AWS_IAM auth.",
    types=[names.LAMBDA_PERMISSION],
    frameworks={"NIST 800-53": ["AC-3", "AC-6"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def lambda_permission_not_public(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from lambda_permission_problems(resource.props)


# A web ACL guards an application load balancer through an association naming the LB's ARN in
# resourceArn (pulumi-aws 7.51 SDK docstrings, wafv2/web_acl_association.py: "must be an ARN of an
# Application Load Balancer, an Amazon API Gateway stage, ..."; wafregional/web_acl_association.py,
# WAF Classic; read 2026-12-02). Network and gateway load balancers take no web ACL.
WEB_ACL_ASSOCIATIONS = ("aws:wafv2/webAclAssociation:WebAclAssociation",
                        "aws:wafregional/webAclAssociation:WebAclAssociation")


def application(lb: Resource) -> Union[bool, NotEvaluable]:
    """Whether ``lb`` is an application load balancer (the default type)."""
    kind = lb.props.get("loadBalancerType")
    if is_unknown(kind):
        return NotEvaluable("loadBalancerType", lb.urn)
    return kind in (None, "", "application")


@stack_rule(
    "MAAS-NET-015",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Internet-facing application load balancers sit behind a web ACL",
    description="Every application load balancer that is not internal is the resourceArn of a WAFv2 (or WAF Classic "
                "regional) WebAclAssociation of the stack, so requests from the internet meet managed rules (common "
                "exploits, known bad inputs, rate limits) before the application. An association pairs with its "
                "load balancer by engine reference or ARN; one whose target is not known yet is not evaluable.",
    severity="high",
    remediation="Create an aws.wafv2.WebAcl (scope REGIONAL, AWS managed rule groups) and an "
                "aws.wafv2.WebAclAssociation(resource_arn=lb.arn, web_acl_arn=acl.arn); or expose the agent "
                "through maas:agents[].exposure, the platform's ingress.",
    frameworks={"NIST 800-53": ["SC-7", "SI-4"], "SOC 2": ["CC6.6"]},
)
def public_alb_web_acl(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    associations = [r for r in resources if r.type in WEB_ACL_ASSOCIATIONS]
    for lb in (r for r in resources if r.type in LOAD_BALANCERS):
        facing, kind = internet_facing(lb), application(lb)
        blockers = [v for v in (facing, kind) if isinstance(v, NotEvaluable)]
        if blockers:
            yield from blockers
            continue
        if not facing or not kind:
            continue
        verdicts = [pairing(association, "resourceArn", lb) for association in associations]
        if any(verdicts):
            continue
        unsure = [association for association, verdict in zip(associations, verdicts) if verdict is None]
        yield from undecided(unsure, "resourceArn") or [Finding(
            lb.urn, "internet-facing application load balancer without a web ACL (no WebAclAssociation names it)")]
