"""Credentials written where they do not belong: the detectors (maas_platform.credentials), the
rules that run them over every place a value can be written (MAAS-SEC-015..019), and the agent
schema, which refuses the same values with the same detectors.

Sample keys are assembled at run time: fabricated, of the documented shapes, never real.
"""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from maas_platform import names
from maas_platform.config.agents import AgentSpec
from maas_platform.credentials import ENTROPY_BASE64, ENTROPY_HEX, entropy, scan, scan_document, scan_named
from maas_platform.policy import Context, Resource, assess, check_resource, get_rule
from maas_platform.policy.secrets import config_credentials

DEV = Context.for_environment("dev")
RANDOM40 = "Zq8vN3xR7tY2pL9mK4wB6cH1jF5sD0gAu7Ee2Wk9"  # base64url alphabet, ~5 bits a character

# detector -> a value of the documented shape
POSITIVES = {
    "aws-access-key-id": "AKIA" + "Z7Q4W2E8R6T1Y3U5",
    "stripe-live-key": "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "anthropic-api-key": "sk-" + "ant-api03-" + RANDOM40 + RANDOM40,
    "openai-api-key": "sk-" + "proj-" + RANDOM40,
    "google-api-key": "AI" + "za" + "SyA-1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
    "github-token": "gh" + "p_" + RANDOM40[:36],
    "gitlab-token": "gl" + "pat-" + RANDOM40[:20],
    "slack-token": "xo" + "xb-1234567890-0987654321-" + RANDOM40[:24],
    "slack-webhook": "https://hooks.slack.com/services/" + "T0123ABCD/B0123ABCD/" + RANDOM40[:24],
    "huggingface-token": "h" + "f_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
    "private-key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "gcp-service-account-key": json.dumps({"type": "service_account", "private_key_id": "1",
                                           "private_key": "-----BEGIN " + "PRIVATE KEY-----\\nMIIE\\n"}),
    "azure-storage-key": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=" + (RANDOM40 * 3)[:86] + "==",
    "jwt": "ey" + "JhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTYifQ." + RANDOM40[:30],
    "url-password": "postgres://app:" + "hunter2pass" + "@db.internal:5432/app",
    "high-entropy": RANDOM40,
}

# Near misses: public, placeholders, identifiers, and shapes one character off.
NEGATIVES = [
    "AIDA" + "Z7Q4W2E8R6T1Y3U5",  # an IAM user's unique ID, not a key
    "AKIA" + "Z7Q4W2E8R6T1Y3",  # too short for an access key ID
    "sk_" + "test_4eC39HqLyjWDarjtT1zdp7dc",  # Stripe test mode: no live action possible
    "pk_" + "live_" + RANDOM40,  # Stripe publishable: meant for browsers
    "postgres://app:$(DB_PASSWORD)@db.internal:5432/app",
    "postgres://app:${DB_PASSWORD}@db.internal:5432/app",
    "https://sqs.us-east-1.amazonaws.com/123456789012/maas-dev-triage-inbox",
    "https://oidc.eks.us-east-1.amazonaws.com/id/BCA5B844F85E9A3A998BE466B3E3A4E7",
    "arn:aws:kms:us-east-1:123456789012:key/0f6a8e2c-3b1d-4c5e-9a7f-1e2d3c4b5a69",
    "123e4567-e89b-12d3-a456-426614174000",
    "ghcr.io/acme/agent@sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",  # a commit
    "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZI\n-----END PUBLIC KEY-----",
    "maas-dev-agent-triage-inbox-dead-letter-queue",
    "http://otel-collector.observability.svc.cluster.local:4317",
    "sk-short",
    "gpt-4.1-mini-2025-04-14",
]


@pytest.mark.parametrize("detector", sorted(POSITIVES))
def test_each_detector_finds_its_format(detector):
    found = [m.detector for m in scan(POSITIVES[detector])]
    assert detector in found, found


@pytest.mark.parametrize("value", NEGATIVES)
def test_near_misses_are_not_credentials(value):
    assert scan(value) == []


def test_a_match_names_the_kind_never_the_value():
    for value in POSITIVES.values():
        for match in scan(value):
            assert value not in repr(match) and value[-12:] not in repr(match)


def test_names_say_credential_only_with_a_literal():
    assert [m.detector for m in scan_named("DB_PASSWORD", "hunter2pass")] == ["named-credential"]
    assert [m.detector for m in scan_named("adminPassword", "prom-operator1")] == ["named-credential"]
    for name, value in [("DB_PASSWORD", "$(DB_PASSWORD)"), ("API_KEY_FILE", "/var/run/secrets/key"),
                        ("existingSecret", "grafana-admin"), ("secretName", "openai-api-key"),
                        ("TOKEN_URL", "https://sts.amazonaws.com"), ("secretKey", "OPENAI_API_KEY"),
                        ("PASSWORD_MIN_LENGTH", "12"), ("ENABLE_TOKEN", "true")]:
        assert scan_named(name, value) == [], (name, value)


def test_documents_are_searched_by_format_and_by_key_names():
    config = "server:\n  port: 8080\ndatabase:\n  password: s3cr3tPassw0rd\n"
    assert [m.detector for m in scan_document(config)] == ["named-credential"]
    assert scan_document("database:\n  password: ${DB_PASSWORD}\n  user: app\n") == []
    assert scan_document(json.dumps({"panels": [{"expr": "sum(rate(maas_llm_tokens_total[5m]))"}]})) == []


def test_entropy_thresholds_are_detect_secrets_defaults():
    plugins = pytest.importorskip("detect_secrets.plugins.high_entropy_strings")
    base64_plugin, hex_plugin = plugins.Base64HighEntropyString(), plugins.HexHighEntropyString()
    assert (base64_plugin.entropy_limit, hex_plugin.entropy_limit) == (ENTROPY_BASE64, ENTROPY_HEX)
    for sample in (RANDOM40, "aaaaaaaaaaaaaaaaaaaaaaaa", "abcdefghijklmnopqrstuvwxyz012345"):
        assert entropy(sample, frozenset(base64_plugin.charset)) == pytest.approx(
            base64_plugin.calculate_shannon_entropy(sample))


@pytest.mark.parametrize("detector, plugin", [
    ("aws-access-key-id", "aws.AWSKeyDetector"), ("stripe-live-key", "stripe.StripeDetector"),
    ("github-token", "github_token.GitHubTokenDetector"), ("slack-token", "slack.SlackDetector"),
    ("slack-webhook", "slack.SlackDetector"), ("private-key", "private_key.PrivateKeyDetector"),
    ("url-password", "basic_auth.BasicAuthDetector"), ("jwt", "jwt.JwtTokenDetector"),
])
def test_detect_secrets_agrees_on_the_shared_formats(detector, plugin):
    """An independent judge: Yelp's detect-secrets plugin for the same format finds our sample."""
    module, name = plugin.split(".")
    found = getattr(pytest.importorskip(f"detect_secrets.plugins.{module}"), name)()
    assert list(found.analyze_string(POSITIVES[detector]))


# -- the rules: every place a value can be written ------------------------------------------------

SECRET_VALUE = POSITIVES["openai-api-key"]


def deployment(env, kind="Deployment", token="kubernetes:apps/v1:Deployment"):
    pod = {"containers": [{"name": "app", "image": "x", "env": env}]}
    spec = {"template": {"spec": pod}} if kind != "CronJob" else {"jobTemplate": {"spec": {"template": {"spec": pod}}}}
    return Resource(token, "w", {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w"}, "spec": spec},
                    urn=f"urn:{token}::w")


def config_map(data=None, binary=None):
    props = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    if data is not None:
        props["data"] = data
    if binary is not None:
        props["binaryData"] = binary
    return Resource(names.K8S_CONFIG_MAP, "c", props, urn="urn:c")


def findings(rule_id, resource):
    messages = check_resource(get_rule(rule_id), resource, DEV)
    for message in messages:
        for value in POSITIVES.values():
            assert value not in message and value[-10:] not in message, message
    return messages


CASES = [
    # MAAS-SEC-015: container env of every pod spec
    ("MAAS-SEC-015", deployment([{"name": "OPENAI_API_KEY", "value": SECRET_VALUE}]),
     "spec.template.spec.containers[0].env[OPENAI_API_KEY] holds an OpenAI API key"),
    ("MAAS-SEC-015", deployment([{"name": "BILLING", "value": POSITIVES["stripe-live-key"]}], "CronJob",
                                "kubernetes:batch/v1:CronJob"),
     "spec.jobTemplate.spec.template.spec.containers[0].env[BILLING] holds a Stripe live secret or restricted key"),
    ("MAAS-SEC-015", deployment([{"name": "DATABASE_URL", "value": POSITIVES["url-password"]}]),
     "env[DATABASE_URL] holds a URL with an inline password"),
    ("MAAS-SEC-015", deployment([{"name": "DB_PASSWORD", "value": "hunter2pass"}]),
     "env[DB_PASSWORD] holds a literal value under a credential's name"),
    # MAAS-SEC-016: ConfigMap data and binaryData
    ("MAAS-SEC-016", config_map({"config.yaml": "llm:\n  key: " + SECRET_VALUE + "\n"}),
     "data.config.yaml holds an OpenAI API key"),
    ("MAAS-SEC-016", config_map(binary={"key.pem": base64.b64encode(POSITIVES["private-key"].encode()).decode()}),
     "binaryData.key.pem holds a private key"),
    # MAAS-SEC-017: a Secret written in clear
    ("MAAS-SEC-017", Resource(names.K8S_SECRET, "s", {"apiVersion": "v1", "kind": "Secret",
                                                       "stringData": {"token": SECRET_VALUE}}, urn="urn:s"),
     "stringData.token holds an OpenAI API key written in clear in the program"),
    ("MAAS-SEC-017", Resource(names.SECRETSMANAGER_SECRET_VERSION, "v", {"secretString": "plain-value-1"}, urn="urn:v"),
     "secretString holds a secret value written in clear"),
    # MAAS-SEC-018: Helm values, nested and env-style lists
    ("MAAS-SEC-018", Resource(names.HELM_RELEASE, "r", {"chart": "x", "values": {"grafana": {
        "adminPassword": "prom-operator1"}}}, urn="urn:r"),
     "values.grafana.adminPassword holds a literal value under a credential's name"),
    ("MAAS-SEC-018", Resource(names.HELM_RELEASE, "r", {"chart": "x", "values": {"extraEnv": [
        {"name": "HF_TOKEN", "value": POSITIVES["huggingface-token"]}]}}, urn="urn:r"),
     "values.extraEnv[0].value holds a Hugging Face access token"),
    # MAAS-SEC-019: Lambda, ECS, SSM String, user data
    ("MAAS-SEC-019", Resource(names.LAMBDA_FUNCTION, "f", {"environment": {"variables": {
        "AWS_SECRET": POSITIVES["aws-access-key-id"]}}}, urn="urn:f"),
     "environment.variables.AWS_SECRET holds an AWS access key ID"),
    ("MAAS-SEC-019", Resource(names.ECS_TASK_DEFINITION, "t", {"containerDefinitions": json.dumps([
        {"name": "app", "environment": [{"name": "GH", "value": POSITIVES["github-token"]}]}])}, urn="urn:t"),
     "containerDefinitions[app].environment[GH] holds a GitHub token"),
    ("MAAS-SEC-019", Resource(names.SSM_PARAMETER, "p", {"name": "/app/db/password", "type": "String",
                                                         "insecureValue": "hunter2pass"}, urn="urn:p"),
     "insecureValue holds a literal value under a credential's name"),
    ("MAAS-SEC-019", Resource(names.EC2_LAUNCH_TEMPLATE, "lt", {"userData": base64.b64encode(
        b"#!/bin/bash\nexport GITLAB_TOKEN=" + POSITIVES["gitlab-token"].encode() + b"\n").decode()}, urn="urn:lt"),
     "userData holds a GitLab access token"),
]


@pytest.mark.parametrize("rule_id, resource, expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_location_is_searched_and_the_finding_hides_the_value(rule_id, resource, expected):
    messages = findings(rule_id, resource)
    assert any(expected in m for m in messages), messages


COMPLIANT = [
    ("MAAS-SEC-015", deployment([{"name": "OPENAI_API_KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                                 {"name": "MODEL", "value": "gpt-4.1-mini"}, {"name": "TOKEN", "value": "[secret]"},
                                 {"name": "DATABASE_URL", "value": "postgres://app:$(DB_PASSWORD)@db:5432/app"}])),
    ("MAAS-SEC-016", config_map({"dashboard.json": json.dumps({"title": "x", "uid": "123e4567-e89b-12d3-a456-426614174000"}),
                                 "ca.crt": NEGATIVES[12]})),
    ("MAAS-SEC-017", Resource(names.K8S_SECRET, "s", {"kind": "Secret", "stringData": "[secret]"}, urn="urn:s")),
    ("MAAS-SEC-017", Resource(names.SECRETSMANAGER_SECRET_VERSION, "v", {"secretString": "[secret]"}, urn="urn:v")),
    ("MAAS-SEC-018", Resource(names.HELM_RELEASE, "r", {"chart": "x", "values": {"grafana": {
        "admin": {"existingSecret": "grafana-admin", "passwordKey": "admin-password"}}}}, urn="urn:r")),
    ("MAAS-SEC-019", Resource(names.SSM_PARAMETER, "p", {"name": "/app/region", "type": "String",
                                                         "insecureValue": "us-east-1"}, urn="urn:p")),
]


@pytest.mark.parametrize("rule_id, resource", COMPLIANT, ids=[c[0] for c in COMPLIANT])
def test_references_placeholders_and_masked_values_pass(rule_id, resource):
    assert findings(rule_id, resource) == []


@pytest.mark.parametrize("rule_id, resource, prop", [
    ("MAAS-SEC-015", deployment([{"name": "X", "value": "[unknown]"}]), "spec.template.spec.containers[0].env[X].value"),
    ("MAAS-SEC-016", config_map("[unknown]"), "data"),
    ("MAAS-SEC-018", Resource(names.HELM_RELEASE, "r", {"chart": "x", "values": "[unknown]"}, urn="urn:r"), "values"),
    ("MAAS-SEC-019", Resource(names.LAMBDA_FUNCTION, "f", {"environment": {"variables": "[unknown]"}}, urn="urn:f"),
     "environment.variables"),
])
def test_values_not_known_yet_are_not_evaluable(rule_id, resource, prop):
    outcome = assess(get_rule(rule_id), [resource], DEV)
    assert outcome.findings == () and [n.property for n in outcome.not_evaluable] == [prop]


def test_the_rules_are_mandatory_and_critical():
    for rule_id in ("MAAS-SEC-015", "MAAS-SEC-016", "MAAS-SEC-017", "MAAS-SEC-018", "MAAS-SEC-019"):
        rule = get_rule(rule_id)
        assert (rule.level, rule.severity) == ("mandatory", "critical")
        assert "Secrets Manager" in rule.remediation


# -- the agent schema uses the same detectors ----------------------------------------------------

AGENT = {"name": "intake", "team": "support", "cost_center": "cc-1", "image": "ghcr.io/acme/intake:1.0.0"}


@pytest.mark.parametrize("detector", ["huggingface-token", "stripe-live-key", "gitlab-token", "url-password",
                                      "google-api-key", "high-entropy"])
def test_the_agent_schema_refuses_what_the_gate_finds(detector):
    value = POSITIVES[detector]
    with pytest.raises(ValidationError) as error:
        AgentSpec(**AGENT, env={"UPSTREAM": value})
    text = error.value.errors()[0]["msg"]  # what `maas` prints (config.loader)
    assert "UPSTREAM looks like a credential" in text and value not in text
    assert findings("MAAS-SEC-015", deployment([{"name": "UPSTREAM", "value": value}]))


def test_the_agent_schema_accepts_plain_settings():
    spec = AgentSpec(**AGENT, env={"MODEL": "gpt-4.1-mini", "UPSTREAM_URL": "https://api.openai.com/v1",
                                   "GIT_SHA": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"})
    assert spec.env["MODEL"] == "gpt-4.1-mini"


# -- the rules in the shared case matrix of tests/test_policy_aws.py ----------------------------------
# (rule, kind, resources, context, violates), as that file's CASES: compliant, violation, missing (the
# property left out) and unknown (a value known only after apply).

def _res(type_: str, props: dict, written: tuple = ()) -> Resource:
    return Resource(type=type_, name="r", props=props, urn=f"urn:pulumi:t::p::{type_}::r", written_credentials=written)


_CONTAINER = {"name": "app", "image": "ghcr.io/acme/app:1.0.0"}
_CM = "kubernetes:core/v1:ConfigMap"
_SECRET = "kubernetes:core/v1:Secret"
_RELEASE = "kubernetes:helm.sh/v3:Release"
_LAMBDA = "aws:lambda/function:Function"
_DEPLOY = "kubernetes:apps/v1:Deployment"
_OPENAI = "sk-proj-" + "Q3xv9TgWm2LrZb7KpN4sYd8H"


def _pod(env) -> Resource:
    return _res(_DEPLOY, {"spec": {"template": {"spec": {"containers": [{**_CONTAINER, **({"env": env} if env is not None else {})}]}}}})


_DEV = Context.for_environment("dev")
MATRIX_CASES = [
    ("MAAS-SEC-015", "compliant", _pod([{"name": "MODEL", "value": "gpt-4.1-mini"}]), _DEV, False),
    ("MAAS-SEC-015", "violation", _pod([{"name": "OPENAI_API_KEY", "value": _OPENAI}]), _DEV, True),
    ("MAAS-SEC-015", "missing", _pod(None), _DEV, False),
    ("MAAS-SEC-015", "unknown", _pod([{"name": "TOKEN", "value": "[unknown]"}]), _DEV, False),
    ("MAAS-SEC-016", "compliant", _res(_CM, {"data": {"LOG_LEVEL": "info"}}), _DEV, False),
    ("MAAS-SEC-016", "violation", _res(_CM, {"data": {"key": _OPENAI}}), _DEV, True),
    ("MAAS-SEC-016", "missing", _res(_CM, {}), _DEV, False),
    ("MAAS-SEC-016", "unknown", _res(_CM, {"data": {"key": "[unknown]"}}), _DEV, False),
    ("MAAS-SEC-017", "compliant", _res(_SECRET, {"kind": "Secret", "stringData": {"api-key": "[secret]"}}), _DEV, False),
    ("MAAS-SEC-017", "violation", _res(_SECRET, {"kind": "Secret", "stringData": "[secret]"},
                                       ({"path": "stringData.api-key", "kind": "an OpenAI API key"},)), _DEV, True),
    ("MAAS-SEC-017", "missing", _res(_SECRET, {"kind": "Secret"}), _DEV, False),
    ("MAAS-SEC-017", "unknown", _res(_SECRET, {"kind": "Secret", "stringData": {"api-key": "[unknown]"}}), _DEV, False),
    ("MAAS-SEC-018", "compliant", _res(_RELEASE, {"values": {"replicas": 2}}), _DEV, False),
    ("MAAS-SEC-018", "violation", _res(_RELEASE, {"values": {"auth": {"apiKey": _OPENAI}}}), _DEV, True),
    ("MAAS-SEC-018", "missing", _res(_RELEASE, {}), _DEV, False),
    ("MAAS-SEC-018", "unknown", _res(_RELEASE, {"values": "[unknown]"}), _DEV, False),
    ("MAAS-SEC-019", "compliant", _res(_LAMBDA, {"environment": {"variables": {"STAGE": "dev"}}}), _DEV, False),
    ("MAAS-SEC-019", "violation", _res(_LAMBDA, {"environment": {"variables": {"KEY": _OPENAI}}}), _DEV, True),
    ("MAAS-SEC-019", "missing", _res(_LAMBDA, {}), _DEV, False),
    ("MAAS-SEC-019", "unknown", _res(_LAMBDA, {"environment": {"variables": {"KEY": "[unknown]"}}}), _DEV, False),
    # MAAS-SEC-020 judges the stack config (the gate's notices): its cases are the notices a config makes.
    ("MAAS-SEC-020", "compliant", [], Context.for_environment("dev", notices=tuple(config_credentials(
        {"maas:agents": [{"env": {"MODEL": "gpt-4.1-mini"}}]}))), False),
    ("MAAS-SEC-020", "violation", [], Context.for_environment("dev", notices=tuple(config_credentials(
        {"maas:alerting": {"token": _OPENAI}}))), True),
    ("MAAS-SEC-020", "missing", [], Context.for_environment("dev", notices=tuple(config_credentials({}))), False),
]
# Rules whose inputs are never "not known yet": MAAS-SEC-020 reads the stack file, which is known before any plan.
MATRIX_NOTHING_UNKNOWN = {"MAAS-SEC-020": "reads the stack's config file, known before anything runs"}
