"""The configuration reference (``docs/configuration.md``), generated from the models.

Every key of the ``maas:`` namespace is read off :class:`~maas_platform.config.models.PlatformConfig`
through ``model_fields``: its type and bounds, whether it is required, its default (the static
one and the per-environment ones from :data:`~maas_platform.config.defaults.ENVIRONMENT_DEFAULTS`)
and its ``Field(description=...)``. The doc therefore cannot drift from the code; a test
compares the file with :func:`render_reference`.

Regenerate after changing a model or a default::

    .venv/bin/maas reference config > docs/configuration.md

Check without writing (exit 1 when the file is stale)::

    .venv/bin/maas reference config --check docs/configuration.md
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Iterable, Literal, Optional, Sequence, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .defaults import DEFAULT_KUBERNETES_VERSION, ENVIRONMENT_DEFAULTS, LOG_RETENTION_DAYS
from .loader import NAMESPACE
from .models import CORE_ADDONS, PlatformConfig

ROOT = f"{NAMESPACE}:"
REGENERATE = "maas reference config > docs/configuration.md"

# Plain words for the reusable constrained types of the config models, keyed by the
# qualified name of the validator function behind them. A validator missing here is
# described by the first line of its docstring, or not at all.
VALIDATOR_WORDS: dict[str, str] = {
    "_cidr": "CIDR block",
    "_vpc_cidr": "private IPv4 CIDR block",
    "_dns_label": "DNS label: lowercase letters, digits and '-', starting with a letter",
    "_region": "AWS region name",
    "_role_arn": "IAM role ARN",
    "_retention": "CloudWatch Logs retention: " + ", ".join(str(d) for d in LOG_RETENTION_DAYS),
    "_k8s_version": f"Kubernetes minor version such as {DEFAULT_KUBERNETES_VERSION}",
    "_instance_type": "EC2 instance type",
    "_agent_name": "DNS-1123 label, not a namespace the cluster or the platform owns",
    "_label": "lowercase letters, digits and '-', starting with a letter",
    "_image": "container image pinned by an immutable tag or a digest (never latest)",
    "_cpu": "CPU quantity such as 250m or 1",
    "_memory": "memory quantity such as 512Mi or 1Gi",
    "_shorthand.<locals>.expand": "or a bare string naming the variant",
}

# The cross-field rules of the model validators, in words: (keys the rule is about, rule).
# Keep in step with the ``@model_validator`` methods of models.py; a test checks every key
# named here still exists.
RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("network.az_count",), "In prod, `network.az_count` must be 3: prod spans three availability zones."),
    (("network.nat_gateways",), "In prod, `network.nat_gateways` must be `per_az`, so one AZ failure does not cut egress."),
    (("protect_stateful",), "In prod, `protect_stateful` cannot be `false`."),
    (
        ("cluster.node_groups[].min_size", "network.az_count"),
        "In prod, every `cluster.node_groups[].min_size` must be at least `network.az_count` (one node per AZ).",
    ),
    (
        ("network.availability_zones", "network.az_count", "region"),
        "`network.availability_zones`, when given, lists exactly `network.az_count` distinct zones, "
        "all in `region` (e.g. `us-east-1a`).",
    ),
    (
        ("cluster.admin_role_arns",),
        "`cluster.admin_role_arns` must list at least one role (the one that runs `pulumi up`): "
        "the cluster creator gets no implicit admin.",
    ),
    (
        ("cluster.endpoint_public_access", "cluster.public_access_cidrs"),
        "`cluster.endpoint_public_access: true` needs a non-empty `cluster.public_access_cidrs` allow-list "
        "without `0.0.0.0/0` (or any other /0); `public_access_cidrs` is refused while the endpoint is private.",
    ),
    (("tags",), "`tags` cannot set `environment`, `managed-by` or `platform`: the platform sets those."),
    (
        ("cluster.node_groups[].min_size", "cluster.node_groups[].desired_size", "cluster.node_groups[].max_size"),
        "Each node group needs `min_size` ≤ `desired_size` ≤ `max_size`.",
    ),
    (("cluster.node_groups[].name",), "Node group names are unique within the cluster."),
    (
        ("cluster.addon_versions",),
        "`cluster.addon_versions` keys are EKS add-on names: " + ", ".join(f"`{a}`" for a in CORE_ADDONS) + ".",
    ),
    (
        ("network.interface_endpoints",),
        "`network.interface_endpoints` are service names like `ecr.api` or `sts`, each listed once.",
    ),
    (("agents[].name",), "Agent names are unique within the stack."),
    (
        ("agents[].name", "name", "environment"),
        "An agent name must keep the AWS names it feeds (IAM role, S3 bucket, Aurora cluster) within AWS's "
        "length limits under the prefix `<name>-<environment>`.",
    ),
    (
        ("agents[].env", "agents[].secrets"),
        "`agents[].env` cannot set `MAAS_AGENT`, `MAAS_ENVIRONMENT` or `AWS_REGION`, nor the variable a secret "
        "arrives as (secret `openai-api-key` is `OPENAI_API_KEY`).",
    ),
    (
        ("agents[].resources.limits.cpu", "agents[].resources.limits.memory"),
        "`agents[].resources.limits` must be at least `agents[].resources.requests`, for CPU and for memory.",
    ),
    (("agents[].replicas.min", "agents[].replicas.max"), "`agents[].replicas.min` must not exceed `max`."),
    (
        ("agents[].storage.min_capacity_acu", "agents[].storage.max_capacity_acu"),
        "Postgres storage: `min_capacity_acu` must not exceed `max_capacity_acu` and moves in steps of 0.5 ACU.",
    ),
    (
        ("flows[].name", "flows[].entry", "flows[].hops[].topic", "flows[].hops[].to", "flows[].team"),
        "Flow names are unique. A flow passes only this stack's agents that are not retired, each once: `entry` "
        "does not scale to zero (its REST entry starts the flow), each hop's `topic` is one of `broker.topics` that "
        "the agent before publishes to and the hop's `to` subscribes to; `team`, when set, is one of the path's agents' teams.",
    ),
)

EXAMPLE = """\
# stacks/Pulumi.staging.yaml
config:
  maas:environment: staging
  maas:region: us-east-1
  maas:account_id: "111122223333"       # quoted: a bare 111122223333 is a number
  maas:tags:
    owner: platform-team
  maas:network:
    cidr: 10.31.0.0/16                  # the other network keys keep the staging defaults
  maas:cluster:
    kubernetes_version: "1.35"          # quoted: a bare 1.35 is a number
    admin_role_arns:
      - arn:aws:iam::111122223333:role/maas-platform-admin
    node_groups:                        # a list replaces the default list as a whole
      - name: system
        instance_types: [m6i.large]
        min_size: 3
        desired_size: 3
        max_size: 6
"""


# -- walking the models ---------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One row of a section table."""

    path: str
    type: str
    required: str
    default: str
    description: str


@dataclass(frozen=True)
class Section:
    """One model at one place in the tree, rendered as one table."""

    path: str
    anchor: str
    title: str
    intro: str
    keys: tuple[Key, ...]


@dataclass(frozen=True)
class _Child:
    """A model reached from a field, to be documented as its own section."""

    model: type[BaseModel]
    path: str  # e.g. maas:cluster.node_groups[]
    variant: Optional[str]  # label when the model is one member of a union
    lead: str  # how the section relates to its field
    discriminator: Optional[str] = None  # the key that selects this variant


def _join(prefix: str, name: str) -> str:
    return prefix + name if prefix.endswith(":") else f"{prefix}.{name}"


def _anchor(path: str, variant: Optional[str] = None) -> str:
    text = path if variant is None else f"{path}-{variant}"
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _is_model(tp: Any) -> bool:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _flatten_metadata(items: Iterable[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        if isinstance(item, FieldInfo):
            flat.extend(_flatten_metadata(item.metadata))
        elif isinstance(item, annotated_types.GroupedMetadata):
            flat.extend(_flatten_metadata(item))
        else:
            flat.append(item)
    return flat


def _unwrap(tp: Any, metadata: Sequence[Any] = ()) -> tuple[Any, list[Any], Optional[str]]:
    """Strip ``Annotated``; return the bare type, its constraints and any union discriminator."""
    meta = _flatten_metadata(metadata)
    discriminator = None
    while get_origin(tp) is Annotated:
        base, *extra = get_args(tp)
        for item in extra:
            if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
                discriminator = item.discriminator
        meta = _flatten_metadata(extra) + meta
        tp = base
    return tp, meta, discriminator


def _show(value: Any) -> str:
    """A value as it is written in YAML, compact (flow style)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, enum.Enum):
        return _show(value.value)
    if isinstance(value, BaseModel):
        return _show(value.model_dump(mode="json"))
    if isinstance(value, str):
        plain = (
            value
            and value == value.strip()
            and not re.search(r"[,\[\]{}#:&*!|>'\"%@`]", value)
            and yaml.safe_load(value) == value
        )
        return value if plain else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_show(k)}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(_show(v) for v in items) + "]"
    return repr(value)


def _code(value: Any) -> str:
    return f"`{_show(value)}`"


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _constraints(meta: Sequence[Any], noun: str) -> list[str]:
    """Field constraints in words: bounds, lengths, patterns and named validators."""
    words: list[str] = []
    low = next(((m.ge, "") for m in meta if isinstance(m, annotated_types.Ge)), None)
    low = low or next(((m.gt, "more than ") for m in meta if isinstance(m, annotated_types.Gt)), None)
    high = next(((m.le, "") for m in meta if isinstance(m, annotated_types.Le)), None)
    high = high or next(((m.lt, "less than ") for m in meta if isinstance(m, annotated_types.Lt)), None)
    if low and high and not low[1] and not high[1]:
        words.append(f"{_number(low[0])} to {_number(high[0])}")
    else:
        if low:
            words.append(f"{low[1] or 'at least '}{_number(low[0])}")
        if high:
            words.append(f"{high[1] or 'at most '}{_number(high[0])}")
    unit = "item" if noun == "items" else "character"
    for m in meta:
        if isinstance(m, annotated_types.MinLen) and m.min_length:
            words.append(f"at least {m.min_length} {unit}{'s' if m.min_length != 1 else ''}")
        elif isinstance(m, annotated_types.MaxLen):
            words.append(f"at most {m.max_length} {unit}{'s' if m.max_length != 1 else ''}")
        elif isinstance(m, annotated_types.MultipleOf):
            words.append(f"a multiple of {_number(m.multiple_of)}")
        elif isinstance(getattr(m, "pattern", None), str):
            words.append(f"matching `{m.pattern}`")
    for m in meta:
        func = getattr(m, "func", None)
        if callable(func):
            text = VALIDATOR_WORDS.get(getattr(func, "__qualname__", ""))
            if text is None and func.__doc__:
                text = inspect.cleandoc(func.__doc__).splitlines()[0].rstrip(".")
            if text:
                words.append(text)
    return words


def _with(base: str, words: list[str]) -> str:
    return f"{base}, {', '.join(words)}" if words else base


def _plural(item: str) -> str:
    """The words for the items of a list (or the values of a mapping)."""
    if item == "mapping":
        return "mappings"
    if item.startswith("one of ") and " variants" in item:
        return f"mappings, each {item}"
    return item


def _variant_label(model: type[BaseModel], discriminator: Optional[str]) -> tuple[str, str]:
    """A union member's title label and when it applies."""
    if discriminator and discriminator in model.model_fields:
        tp, _, _ = _unwrap(model.model_fields[discriminator].annotation)
        if get_origin(tp) is Literal:
            values = " | ".join(_show(v) for v in get_args(tp))
            return f"{discriminator}: {values}", f"when `{discriminator}` is " + " or ".join(_code(v) for v in get_args(tp))
    return model.__name__, "when the value matches the keys below"


def _type_words(
    tp: Any, metadata: Sequence[Any], path: str, children: list[_Child], lead: str, discriminator: Optional[str] = None
) -> str:
    """The type of a value in plain words; models met on the way are added to ``children``."""
    tp, meta, inner_discriminator = _unwrap(tp, metadata)
    discriminator = inner_discriminator or discriminator
    origin = get_origin(tp)
    if tp is type(None):
        return "null"
    if tp is Any:
        return "any value"
    if _is_union(tp):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return _type_words(members[0], meta, path, children, lead, discriminator)
        models = [m for m in (_unwrap(m)[0] for m in members) if _is_model(m)]
        if len(models) < 2:
            return " or ".join(_type_words(m, (), path, children, lead) for m in members)
        for model in models:
            label, when = _variant_label(model, discriminator)
            note = f"{lead} is a mapping; this variant applies {when}." if lead else f"This variant applies {when}."
            children.append(_Child(model, path, label, note, discriminator))
        chosen = f" chosen by `{discriminator}`" if discriminator else ""
        others = [_type_words(m, (), path, children, lead) for m in members if not _is_model(_unwrap(m)[0])]
        return _with(" or ".join(others + [f"one of {len(models)} variants{chosen}"]), _constraints(meta, ""))
    if origin is Literal:
        values = get_args(tp)
        if len(values) == 1:
            return f"{_code(values[0])} (the only value)"
        return "one of " + " | ".join(_code(v) for v in values)
    if inspect.isclass(tp) and issubclass(tp, enum.Enum):
        return "one of " + " | ".join(_code(m.value) for m in tp)
    if _is_model(tp):
        children.append(_Child(tp, path, None, lead))
        return "mapping"
    if origin in (list, tuple, set, frozenset) or tp in (list, tuple, set, frozenset):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        item = _type_words(args[0], (), f"{path}[]", children, f"Each item of `{path}`") if args else "any value"
        return _with(f"list of {_plural(item)}", _constraints(meta, "items"))
    if origin is dict or tp is dict:
        args = get_args(tp)
        if not args:
            return _with("mapping", _constraints(meta, "items"))
        key = _type_words(args[0], (), path, [], lead)
        value = _type_words(args[1], (), f"{path}.<key>", children, f"Each value of `{path}`")
        return _with(f"mapping of {key} to {_plural(value)}", _constraints(meta, "items"))
    if tp is bool:
        return "boolean"
    if tp is int:
        return _with("integer", _constraints(meta, "number"))
    if tp is float:
        return _with("number", _constraints(meta, "number"))
    if tp is str:
        return _with("string", _constraints(meta, "characters"))
    return _with(getattr(tp, "__name__", str(tp)), _constraints(meta, ""))


def _environment_defaults(dict_path: Optional[tuple[str, ...]]) -> dict[str, Any]:
    """The per-environment default of a key, per environment that has one.

    Only mappings are followed: the defaults are deep-merged, so a list (node groups)
    is replaced as a whole and its items take no environment default.
    """
    found: dict[str, Any] = {}
    if dict_path is None:
        return found
    for env, defaults in ENVIRONMENT_DEFAULTS.items():
        node: Any = defaults
        for part in dict_path:
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            found[env] = node
    return found


def _static_default(field: FieldInfo) -> tuple[bool, Any]:
    if field.default_factory is not None:
        try:
            return True, field.default_factory()  # type: ignore[call-arg]
        except TypeError:  # a factory that wants the validated data: no static value
            return False, None
    if field.default is PydanticUndefined:
        return False, None
    return True, field.default


def _cell(text: str) -> str:
    """Text fit for a table cell: one line, pipes escaped, ``<`` outside code spans escaped."""
    parts = " ".join(text.split()).split("`")
    parts = [part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts)]
    return "`".join(parts).replace("|", "\\|")


def _rst_to_markdown(text: str) -> str:
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _docstring(model: type[BaseModel]) -> str:
    doc = model.__dict__.get("__doc__")
    return _rst_to_markdown(inspect.cleandoc(doc)) if doc else ""


def _key_name(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
    return alias or name


def _ruled_paths() -> set[str]:
    return {_join(ROOT, key) for keys, _ in RULES for key in keys}


def _show_default(value: Any, discriminator: Optional[str]) -> str:
    """A static default; a model instance shows only what differs from its own defaults."""
    if value is None:
        return "not set"
    if not isinstance(value, BaseModel):
        return _code(value)
    shown = value.model_dump(mode="json", exclude_defaults=True)
    if discriminator and discriminator in type(value).model_fields:
        shown = {discriminator: getattr(value, discriminator), **shown}
    return _code(shown) if shown else "see its keys"


def _required(field: FieldInfo, env_defaults: dict[str, Any]) -> str:
    missing = [env for env in ENVIRONMENT_DEFAULTS if env not in env_defaults]
    if not field.is_required() or not missing:
        return "no"
    return "yes, in " + ", ".join(missing) if env_defaults else "yes"


def _key(
    name: str, field: FieldInfo, path: str, dict_path: Optional[tuple[str, ...]],
    discriminator: Optional[str], children: list[tuple[_Child, Optional[tuple[str, ...]], str]],
    enclosing: dict[type[BaseModel], tuple[str, str]],
) -> Key:
    """One row: the field ``name`` of the model at ``path``; the models it leads to go to ``children``.

    ``enclosing`` maps the models this one sits in to their (path, anchor), so a recursive
    reference links back to where the model is documented.
    """
    key = _key_name(name, field)
    key_path = _join(path, key)
    key_dict_path = None if dict_path is None else dict_path + (key,)
    found: list[_Child] = []
    own_discriminator = field.discriminator if isinstance(field.discriminator, str) else None
    words = _type_words(field.annotation, field.metadata, key_path, found, "", own_discriminator)
    links = []
    for child in found:
        label = "" if child.variant is None else f" ({child.variant})"
        if child.model in enclosing:
            target, anchor = enclosing[child.model]
            links.append(f"[`{target}`](#{anchor})")
            continue
        links.append(f"[`{child.path}`{label}](#{_anchor(child.path, child.variant)})")
        children.append((child, key_dict_path if child.path == key_path else None, field.description or ""))
    if links:
        words += "; see " + ", ".join(links)

    description = _rst_to_markdown(field.description or "")
    if key == discriminator:  # a discriminated union needs its tag even where the variant defaults it
        required, default = "yes", "—"
        description = description or "Selects this variant."
    else:
        env_defaults = _environment_defaults(key_dict_path)
        has_static, static = _static_default(field)
        leads_to_model = any(c.path == key_path for c in found)
        shown = []
        if has_static:
            shown.append(_show_default(static, own_discriminator))
        if env_defaults and not (leads_to_model and all(isinstance(v, dict) for v in env_defaults.values())):
            shown.append(" · ".join(f"{env}: {_code(value)}" for env, value in env_defaults.items()))
        elif env_defaults and not has_static:
            shown.append("see its keys")
        required, default = _required(field, env_defaults), "; ".join(shown) or "—"
    if not description and found and found[0].variant is None:
        description = _docstring(found[0].model).split("\n\n")[0]
    if key_path in _ruled_paths():
        description = f"{description} See [rules across keys](#rules-across-keys).".strip()
    return Key(key_path, _cell(words), required, _cell(default), _cell(description or "—"))


def _sections(
    model: type[BaseModel],
    path: str,
    dict_path: Optional[tuple[str, ...]],
    title: str,
    intro: str,
    variant: Optional[str],
    discriminator: Optional[str],
    enclosing: dict[type[BaseModel], tuple[str, str]],
) -> list[Section]:
    """The section of ``model`` at ``path``, then the sections of the models below it, depth first.

    ``dict_path`` locates the model in the environment defaults (None below a list or a
    mapping of models, where no environment default reaches).
    """
    anchor = _anchor(path, variant)
    enclosing = {**enclosing, model: (path, anchor)}
    children: list[tuple[_Child, Optional[tuple[str, ...]], str]] = []
    keys = tuple(
        _key(name, field, path, dict_path, discriminator, children, enclosing)
        for name, field in model.model_fields.items()
    )
    result = [Section(path, anchor, title, intro, keys)]
    for child, child_dict_path, field_description in children:  # a recursive model is not among them
        if child.variant is None:
            doc = _docstring(child.model) or _rst_to_markdown(field_description)
            lead = f"{child.lead} is a mapping with these keys." if child.lead else ""
            child_title = f"`{child.path}`"
        else:
            doc, lead, child_title = _docstring(child.model), child.lead, f"`{child.path}` ({child.variant})"
        result += _sections(
            child.model, child.path, child_dict_path, child_title, " ".join(p for p in (doc, lead) if p),
            child.variant, child.discriminator, enclosing,
        )
    return result


def sections(model: type[BaseModel] = PlatformConfig, root: str = ROOT) -> list[Section]:
    """Every section of the reference, the top level first, then depth first in field order."""
    return _sections(model, root, (), f"`{root}` (top level)", _docstring(model), None, None, {})


# -- rendering ------------------------------------------------------------------------------

_INTRO = f"""\
# Configuration reference: the `maas:` namespace

<!-- Generated from the pydantic models in platform/maas_platform/config/models.py and the
     environment defaults in platform/maas_platform/config/defaults.py; do not edit by hand.
     Regenerate: {REGENERATE} -->

`maas:` is this project's namespace in a Pulumi stack config. It holds every setting the
platform reads, and nothing else: the whole namespace is validated into one typed model
(`PlatformConfig`) before any resource is registered, by `maas plan` offline and by the
program under `pulumi up`. The models are strict: an unknown key is an error (so a typo
fails), and a value must have the right type (`"3"` is not a number, and a bare `1.35` is
not a string).

## Writing values

Values live in `stacks/Pulumi.<stack>.yaml` under `config:`. Top-level keys are written
`maas:<key>`; structured values are plain YAML under their top-level key, e.g.
`maas:network:` with `cidr:` beneath it. In this reference `maas:network.cidr` means the
key `cidr` inside the `maas:network:` mapping, `maas:cluster.node_groups[].min_size` the
key `min_size` of each item of the `maas:cluster.node_groups` list.

A stack states only what differs from its environment's defaults: `maas:environment`
(`dev`, `staging` or `prod`) selects the defaults shown in the tables, and your values are
laid over them. Mappings merge key by key; lists replace the default list as a whole.

Secrets are never written inline. Set them with
`pulumi config set --secret maas:<key> <value>`: the stack file then holds only the
encrypted `secure:` value, and `maas plan` sees the placeholder `[secret]`.

```yaml
{EXAMPLE.rstrip()}
```

## Errors

An invalid value stops `maas plan` (and `pulumi up`) before anything is created, with one
line naming the full key, what is expected and the file; `maas plan` exits with code 2:

```text
$ maas plan --stack prod
error: maas:cluster.node_groups[0].min_size: prod needs at least one node per AZ (3), got 2 (stacks/Pulumi.prod.yaml)
$ echo $?
2
```

## Regenerating this file

This file is generated from the models, so it cannot drift from the code; a test fails
when it is stale. After changing a model or a default:

```bash
.venv/bin/{REGENERATE}
```
"""


def _render_rules() -> list[str]:
    lines = [
        "## Rules across keys",
        "",
        "Checks that involve more than one key, or a key and the environment; each fails with",
        "the one-line error above, naming the key it judges.",
        "",
    ]
    lines += [f"- {text}" for _, text in RULES]
    return lines


def _render_section(section: Section) -> list[str]:
    lines = [f'<a id="{section.anchor}"></a>', "", f"### {section.title}", ""]
    if section.intro:
        lines += [section.intro, ""]
    lines += [
        "| Key | Type | Required | Default | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{k.path}` | {k.type} | {k.required} | {k.default} | {k.description} |" for k in section.keys
    ]
    return lines + [""]


def render_reference() -> str:
    """The whole reference as Markdown; the same models always give the same text."""
    all_sections = sections()
    lines = [_INTRO.rstrip(), "", "## Keys", ""]
    lines += [
        "Defaults written `dev: … · staging: … · prod: …` come from the environment; "
        "the others hold in every environment.",
        "",
    ]
    lines += [f"- [{s.title}](#{s.anchor})" for s in all_sections] + [""]
    for section in all_sections:
        lines += _render_section(section)
    lines += _render_rules()
    return "\n".join(lines).rstrip() + "\n"


def print_or_check(text: str, check: Optional[Path], regenerate: str) -> int:
    """A generated document: printed, or with ``check`` compared with that file (exit 1 when it differs)."""
    if check is not None:
        try:
            current: Optional[str] = check.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != text:
            state = "is missing" if current is None else "is out of date"
            print(f"{check} {state}; regenerate with: {regenerate}", file=sys.stderr)
            return 1
        return 0
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.flush()
    return 0

