"""MAAS-SEC-015 to 019: credentials written where they do not belong.

A credential written into a container's env, a ConfigMap, Helm values, a Kubernetes Secret
declared inline, a Lambda or ECS environment, an SSM String parameter or user data sits in
the program, in the stack's state and in the object itself, readable by whoever can read any
of them. The detectors are :mod:`maas_platform.credentials` (the same ones the agent schema
uses); a finding names the resource's property and key and the kind of credential, never the
value, and says where the value belongs. Values the plan masks (``"[secret]"``: a Pulumi
secret) are where they belong; values not known yet are not evaluable.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping, Sequence

from .. import names
from ..credentials import Match, decoded, scan_document, scan_named
from .core import (
    SECRET, UNKNOWN, Context, Finding, Notice, NotEvaluable, Outcome, Resource, resource_rule, stack_rule,
)
from .kubernetes.helpers import Pod, over_pods

_FRAMEWORKS = {"SOC 2": ["CC6.1", "CC6.7"], "NIST 800-53": ["IA-5(7)", "SC-28"], "CIS EKS": ["4.4.1"]}
AGENT_HOME = ("put the value in Secrets Manager and name it in the agent's `secrets:` list (an ExternalSecret "
              "delivers it to the pod's env); other workloads read a Secret that an ExternalSecret fills, through "
              "env[].valueFrom.secretKeyRef or envFrom")
PULUMI_SECRET = "pass the value as a Pulumi config secret (`pulumi config set --secret`), which the plan and the state keep encrypted"


def _say(where: str, match: Match) -> str:
    return f"{where} holds {match.description}"


def _judge(value: Any, key: str) -> list[Match]:
    """The credentials in one value: a document (several lines, or long) by format and by the
    names of its keys, a short value also by entropy and by ``key``."""
    if not isinstance(value, str) or value in (SECRET, UNKNOWN):
        return []
    if "\n" in value or len(value) > 512:
        return scan_document(value)
    return scan_named(key, value)


# -- containers ----------------------------------------------------------------------------------

@resource_rule(
    "MAAS-SEC-015",
    title="No credential in a container's environment",
    description="No env[].value of any container of any pod spec (every workload kind, CronJobs, custom "
                "resources that carry pods, patches merged onto their targets) holds a credential: a key of a "
                "known format (AWS, Stripe live, OpenAI, Anthropic, Google, GitHub, GitLab, Slack, Hugging Face, "
                "a private key, a JWT, a URL with an inline password), a high-entropy string, or a literal under "
                "a credential's name (DB_PASSWORD). The value would sit in the program, the state and the "
                "object, readable by anyone who may read the workload.",
    severity="critical",
    remediation="Remove the value; " + AGENT_HOME + ".",
    types=["kubernetes:*"],
    frameworks=_FRAMEWORKS,
)
@over_pods
def container_env(pod: Pod, resource: Resource, context: Context) -> Iterator[Outcome]:
    for where, container in pod.containers():
        env = container.get("env")
        if env == UNKNOWN:
            yield NotEvaluable(pod.at(where, "env"))
            continue
        for index, entry in enumerate(env if isinstance(env, list) else []):
            if not isinstance(entry, Mapping):
                continue
            name = str(entry.get("name") or index)
            value = entry.get("value")
            if value == UNKNOWN:
                yield NotEvaluable(pod.at(where, f"env[{name}].value"))
                continue
            for match in _judge(value, name):
                yield _say(pod.at(where, f"env[{name}]"), match) + "; " + AGENT_HOME


# -- ConfigMaps ----------------------------------------------------------------------------------

def _config_map_values(resource: Resource) -> Iterator[tuple[str, Any]]:
    """``(path, text)`` of every entry of a ConfigMap: ``data`` as written, ``binaryData``
    decoded (base64, UTF-8 text; other bytes are not text a credential is written in)."""
    data = resource.get("data")
    for key, value in (data.items() if isinstance(data, Mapping) else ()):
        yield f"data.{key}", value
    binary = resource.get("binaryData")
    for key, value in (binary.items() if isinstance(binary, Mapping) else ()):
        text = decoded(value) if isinstance(value, str) and value not in (SECRET, UNKNOWN) else value
        yield f"binaryData.{key}", text if text is not None else ""


@resource_rule(
    "MAAS-SEC-016",
    title="No credential in a ConfigMap",
    description="No entry of a ConfigMap's data or binaryData (decoded) holds a credential: a key of a known "
                "format anywhere in it, a literal assigned to a key named like a credential (password: ..., "
                "api_key = ...), or, for a short entry, a high-entropy string. A ConfigMap is meant to be read: "
                "by every pod that mounts it and by anyone with read access to the namespace.",
    severity="critical",
    remediation="Move the credential out of the ConfigMap into Secrets Manager; deliver it with an ExternalSecret "
                "into a Secret, and mount or reference that Secret (an agent lists it under `secrets:`).",
    types=[names.K8S_CONFIG_MAP],
    frameworks=_FRAMEWORKS,
)
def config_map(resource: Resource, context: Context) -> Iterator[Outcome]:
    for prop in ("data", "binaryData"):
        if resource.get(prop) == UNKNOWN:
            yield NotEvaluable(prop)
    for path, value in _config_map_values(resource):
        if value == UNKNOWN:
            yield NotEvaluable(path)
            continue
        for match in _judge(value, path.split(".", 1)[1]):
            yield _say(path, match) + "; it belongs in Secrets Manager, delivered by an ExternalSecret"


# -- Secrets written inline ------------------------------------------------------------------------

def _inline_secret_values(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.kind == "Secret" and resource.type.startswith("kubernetes:"):
        for prop in ("stringData", "data"):
            values = resource.get(prop)
            if values == UNKNOWN:
                yield prop, UNKNOWN
            for key, value in (values.items() if isinstance(values, Mapping) else ()):
                yield f"{prop}.{key}", value
    elif resource.type == names.SECRETSMANAGER_SECRET_VERSION:
        for prop in ("secretString", "secretBinary"):
            yield prop, resource.get(prop)
    elif resource.type == names.SSM_PARAMETER and resource.get("type") == "SecureString":
        yield "value", resource.get("value")


@resource_rule(
    "MAAS-SEC-017",
    title="Secret values are not written in the program",
    description="A Kubernetes Secret's data and stringData, a Secrets Manager secret version's secretString and "
                "an SSM SecureString parameter's value are Pulumi secrets (the plan shows [secret]) or come from "
                "elsewhere; one the plan shows in clear was written into the program as plain text (a Secret "
                "declared through a generic or YAML path, a raw value), so it is in the source, the state "
                "unencrypted and every preview. The same holds for any resource's secret input whose plain text "
                "a detector names and that no other resource computed: offline, encrypted stack config reaches "
                "the program as [secret], so such a value was written in the program (or in plain config).",
    severity="critical",
    remediation="Keep the value in Secrets Manager and let an ExternalSecret create the Kubernetes Secret; where the "
                "program must set a value, " + PULUMI_SECRET + ".",
    # Every type: a secret input of any resource whose plain text the program wrote (see below).
    types=["*"],
    frameworks=_FRAMEWORKS,
)
def inline_secret(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not _judged_in_clear(resource):
        yield from _written(resource, f"{PULUMI_SECRET}, or keep it in Secrets Manager")
    if not (resource.type.startswith("kubernetes:") or resource.type in (names.SECRETSMANAGER_SECRET_VERSION,
                                                                          names.SSM_PARAMETER)):
        return
    for path, value in _inline_secret_values(resource):
        if value == UNKNOWN:
            yield NotEvaluable(path)
        elif isinstance(value, str) and value not in ("", SECRET):
            found = _judge(decoded(value) or value if path.startswith("data.") else value, path.rsplit(".", 1)[-1])
            what = found[0].description if found else "a secret value"
            yield f"{path} holds {what} written in clear in the program; {PULUMI_SECRET}, or keep it in Secrets Manager"


def _judged_in_clear(resource: Resource) -> bool:
    """Types whose values anyone who may describe them reads in clear (MAAS-SEC-019 judges them)."""
    return resource.type in _IN_CLEAR_TYPES and not (
        resource.type == names.SSM_PARAMETER and resource.get("type") == "SecureString")


def _written(resource: Resource, where: str) -> Iterator[str]:
    """The secret inputs whose plain text the program wrote and a detector names (the engine saw
    them before the plan masked them, ``Resource.written_credentials``): the SDK keeps them secret in
    the state, but they are in the program's source, or in plain stack config."""
    for entry in resource.written_credentials:
        yield (f"{entry.get('path')} holds {entry.get('kind')} written in the program (the SDK marks it secret, "
               f"the source does not); {where}")


# -- Helm values ---------------------------------------------------------------------------------

def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """``(path, name, leaf)`` of every leaf under ``value``; ``name`` is the leaf's key, or for
    an env-style entry (``{name: X, value: ...}``) its ``name``, or for a list item the list's key."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if isinstance(child, (Mapping, list)):
                yield from _walk(child, f"{path}.{key}")
            else:
                entry_name = value.get("name") if key == "value" else None
                yield f"{path}.{key}", entry_name if isinstance(entry_name, str) else str(key), child
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, (Mapping, list)):
                yield from _walk(child, f"{path}[{index}]")
            else:
                yield f"{path}[{index}]", path.rsplit(".", 1)[-1], child


@resource_rule(
    "MAAS-SEC-018",
    title="No credential in Helm values",
    description="No value of a Helm release (at any depth, extraEnv entries included) holds a credential of a "
                "known format, a high-entropy string or a literal under a credential's name (adminPassword). "
                "Helm stores the values of every revision in the cluster, readable by whoever reads the release "
                "namespace's Secrets, and Pulumi keeps them in the state.",
    severity="critical",
    remediation="Point the chart at a Secret instead (its existingSecret / secretKeyRef values) and fill that Secret "
                "with an ExternalSecret from Secrets Manager; a value only the program knows: " + PULUMI_SECRET + ".",
    types=[names.HELM_RELEASE],
    frameworks=_FRAMEWORKS,
)
def helm_values(resource: Resource, context: Context) -> Iterator[Outcome]:
    values = resource.get("values")
    if values == UNKNOWN:
        yield NotEvaluable("values")
        return
    for path, key, leaf in _walk(values, "values"):
        if leaf == UNKNOWN:
            continue  # an output of another resource, not a literal of the program
        for match in _judge(leaf, key):
            yield _say(path, match) + "; it belongs in a Secret the chart reads, filled from Secrets Manager"


# -- AWS compute and parameters --------------------------------------------------------------------

def _ecs_environment(resource: Resource) -> Iterator[tuple[str, str, Any]]:
    definitions = resource.get("containerDefinitions")
    if isinstance(definitions, str) and definitions not in (SECRET, UNKNOWN):
        try:
            definitions = json.loads(definitions)
        except ValueError:
            return
    for index, container in enumerate(definitions if isinstance(definitions, list) else []):
        if not isinstance(container, Mapping):
            continue
        cname = container.get("name") or index
        for entry in container.get("environment") or []:
            if isinstance(entry, Mapping):
                yield f"containerDefinitions[{cname}].environment[{entry.get('name')}]", str(entry.get("name")), \
                    entry.get("value")


def _aws_values(resource: Resource) -> Iterator[tuple[str, str, Any]]:
    """``(path, name, value)`` of what the rule reads; user data comes as a document (it ends
    with a line break), so it is searched as one whatever its length."""
    if resource.type == names.LAMBDA_FUNCTION:
        variables = resource.get("environment.variables")
        if variables == UNKNOWN:
            yield "environment.variables", "", UNKNOWN
        for key, value in (variables.items() if isinstance(variables, Mapping) else ()):
            yield f"environment.variables.{key}", str(key), value
    elif resource.type == names.ECS_TASK_DEFINITION:
        if resource.get("containerDefinitions") == UNKNOWN:
            yield "containerDefinitions", "", UNKNOWN
        yield from _ecs_environment(resource)
    elif resource.type == names.SSM_PARAMETER:
        if resource.get("type") != "SecureString":  # SecureString: MAAS-SEC-017
            name = str(resource.get("name") or resource.name)
            for prop in ("value", "insecureValue"):
                yield prop, name, resource.get(prop)
    else:  # EC2 instances and launch templates: user data, as written or base64
        for prop in ("userData", "userDataBase64"):
            value = resource.get(prop)
            if isinstance(value, str) and value not in (SECRET, UNKNOWN):
                value = (decoded(value) or value).rstrip("\n") + "\n"
            yield prop, "", value


_IN_CLEAR_TYPES = (names.LAMBDA_FUNCTION, names.ECS_TASK_DEFINITION, names.SSM_PARAMETER, names.EC2_INSTANCE,
                   names.EC2_LAUNCH_TEMPLATE)


@resource_rule(
    "MAAS-SEC-019",
    title="No credential in Lambda or ECS environments, SSM String parameters or user data",
    description="No Lambda environment variable, ECS container environment entry, SSM parameter of type String "
                "or StringList (value or insecureValue, judged with the parameter's name) or EC2 instance / "
                "launch template user data (decoded) holds a credential. Each is shown in clear to anyone who "
                "may describe the resource (lambda:GetFunctionConfiguration, ecs:DescribeTaskDefinition, "
                "ssm:GetParameter, ec2:DescribeInstanceAttribute).",
    severity="critical",
    remediation="Keep the credential in Secrets Manager (or an SSM SecureString) and read it at run time: Lambda "
                "through the function's role, ECS through the container definition's secrets (valueFrom), user "
                "data through the instance profile.",
    types=_IN_CLEAR_TYPES,
    frameworks=_FRAMEWORKS,
)
def aws_values(resource: Resource, context: Context) -> Iterator[Outcome]:
    if _judged_in_clear(resource):
        yield from _written(resource, "keep it in Secrets Manager and read it at run time")
    for path, key, value in _aws_values(resource):
        if value == UNKNOWN:
            yield NotEvaluable(path)
            continue
        for match in _judge(value, key):
            yield _say(path, match) + "; keep it in Secrets Manager and read it at run time"


# -- stack configuration -------------------------------------------------------------------------

def _config_leaves(value: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """``(path, name, text)`` of every string of a config value; ``name`` is the nearest key."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from _config_leaves(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, str):
                yield f"{path}[{index}]", path.rsplit(".", 1)[-1], child
            else:
                yield from _config_leaves(child, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, path.rsplit(".", 1)[-1], value


CONFIG_CREDENTIAL = "MAAS-SEC-020"


def config_credentials(config: Mapping[str, Any]) -> list[Notice]:
    """A notice for each plain (not ``secure:``) stack config value holding a credential: the
    stack file is in the repository, read by everyone who reads the code. Encrypted values reach
    the plan as ``[secret]`` and pass; the value itself is never in the notice."""
    notices = []
    for key in sorted(config):
        for path, name, text in _config_leaves(config[key], str(key)):
            if text in (SECRET, UNKNOWN):
                continue
            for match in scan_named(name, text):
                notices.append(Notice(CONFIG_CREDENTIAL, f"{path} holds {match.description} in plain text in the "
                                                         "stack file; pulumi config set --secret " f"{key} (encrypted) "
                                                         "or keep it in Secrets Manager"))
                break
    return notices


@stack_rule(
    CONFIG_CREDENTIAL,
    title="No credential in plain stack configuration",
    description="A stack file (Pulumi.<stack>.yaml) is in the repository: a config value holding a credential "
                "(by format, entropy, or a literal under a credential's name) that is not encrypted with "
                "`pulumi config set --secret` is readable by everyone who reads the code, and reaches every "
                "resource it is passed to in clear.",
    severity="critical",
    remediation="Encrypt it: `pulumi config set --secret <key> <value>` (the file then holds `secure: ...`), or keep "
                "it in Secrets Manager and list it under the agent's secrets.",
    frameworks=_FRAMEWORKS,
)
def config_credential(resources: Sequence[Resource], context: Context) -> list[Finding]:
    return context.notice_findings(CONFIG_CREDENTIAL)
