"""What the AWS rules share: type groups, values, policy documents and how resources
that configure one another are matched (a bucket and its encryption, a queue and its policy).

Values arrive as the engine sends them (camelCase inputs; see :mod:`..core`). A value not
known yet is the marker ``"[unknown]"``; the functions that judge a value
(:func:`customer_key_problem`) return :class:`~..core.NotEvaluable` for it, and those that
only read one (:func:`number`, :func:`is_true`) leave the marker for the rule to handle.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ..core import SECRET, UNKNOWN, NotEvaluable, Resource

__all__ = [
    "IDENTITY_POLICY_TYPES", "MIN_BACKUP_RETENTION_DAYS", "RESOURCE_POLICY_TYPES", "S3_BUCKETS", "S3_BUCKET_ACLS",
    "S3_ENCRYPTION", "as_list", "bucket_name", "buckets", "condition_keys", "condition_value", "configuring",
    "customer_key_problem", "denies_insecure_transport", "document", "engine_family", "fmt", "for_bucket",
    "is_cluster_member", "is_false", "is_set", "is_true", "is_unknown", "mapping", "label", "last_segment", "names_resource",
    "number", "pairing", "physical_names", "policy_documents", "principal_values", "queue_name", "reference", "statements",
    "topic_name", "undecided", "unknown_documents", "urn_type",
]

# -- type groups -----------------------------------------------------------------------------

S3_BUCKETS = (names.S3_BUCKET, names.S3_BUCKET_V2)
S3_ENCRYPTION = (names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION,
                 names.S3_BUCKET_SERVER_SIDE_ENCRYPTION_CONFIGURATION_V2)
S3_BUCKET_ACLS = (names.S3_BUCKET_ACL, names.S3_BUCKET_ACL_V2)

# Identity policies (attached to a principal) and resource policies (attached to a resource).
IDENTITY_POLICY_TYPES = (names.IAM_ROLE_POLICY, names.IAM_POLICY, names.IAM_USER_POLICY, names.IAM_GROUP_POLICY,
                         names.IAM_ROLE)
RESOURCE_POLICY_TYPES = (
    names.SQS_QUEUE_POLICY, names.SQS_QUEUE, names.SNS_TOPIC_POLICY, names.SNS_TOPIC, names.S3_BUCKET_POLICY,
    *S3_BUCKETS, names.SECRETSMANAGER_SECRET_POLICY, names.KMS_KEY, names.KMS_KEY_POLICY, names.ECR_REPOSITORY_POLICY,
)

MIN_BACKUP_RETENTION_DAYS = 7


# -- values ----------------------------------------------------------------------------------

def is_set(value: Any) -> bool:
    """True for a value that is present (``"[unknown]"`` included: it will be set, to something)."""
    return value is not None and value != "" and value != [] and value != {}


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def is_true(value: Any) -> bool:
    """True or "true" (a value not known yet is neither: check :func:`is_unknown` first)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_false(value: Any) -> bool:
    """False or "false" (a value not known yet is neither)."""
    return value is False or (isinstance(value, str) and value.lower() == "false")


def number(value: Any) -> Optional[float]:
    """A number from a number or a numeric string; None otherwise (the unknown marker included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def fmt(value: float) -> str:
    """A number as people write it: 7, not 7.0; 1209600, not 1.2096e+06."""
    return str(int(value)) if float(value).is_integer() else str(value)


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def customer_key_problem(value: Any, what: str, path: Optional[str] = None) -> Optional[Union[str, NotEvaluable]]:
    """Why ``value`` is not a customer-managed KMS key (None when it is one); not evaluable
    when the key is not known yet. ``what`` names it in messages, ``path`` (default ``what``)
    is the property reported as not evaluable."""
    if is_unknown(value):
        return NotEvaluable(path or what)
    if not is_set(value):
        return f"{what} names no customer-managed KMS key, so AWS encrypts it with a key it manages (or not at all)"
    if isinstance(value, str) and "alias/aws/" in value:
        return f"{what} uses the AWS-managed key {value}; use a customer-managed key whose policy and rotation you control"
    return None


def last_segment(arn_or_url: Any, separator: str) -> Optional[str]:
    if not isinstance(arn_or_url, str) or not arn_or_url or is_unknown(arn_or_url):
        return None
    return arn_or_url.rsplit(separator, 1)[-1]


def is_cluster_member(resource: Resource) -> bool:
    """An RDS instance of an Aurora cluster: it stores nothing of its own, the cluster's settings apply."""
    return resource.type == names.RDS_INSTANCE and is_set(resource.props.get("clusterIdentifier"))


def engine_family(engine: Any) -> Optional[str]:
    """``postgres`` or ``mysql`` for an RDS engine name (unset: the platform's default, postgres)."""
    if not isinstance(engine, str):
        return "postgres"
    if "postgres" in engine:
        return "postgres"
    if "mysql" in engine or "mariadb" in engine:
        return "mysql"
    return None


# -- policy documents ------------------------------------------------------------------------

def document(value: Any) -> Optional[Mapping[str, Any]]:
    """A policy document from a JSON string or mapping; None when it cannot be read (unknown, secret)."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or value in (UNKNOWN, SECRET):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def statements(doc: Optional[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if doc is None:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def _inline_policies(resource: Resource) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, p) for i, p in enumerate(as_list(resource.props.get("inlinePolicies"))) if isinstance(p, Mapping)]


def policy_documents(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every permission document of a resource (not a role's trust policy): ``(where, doc)``."""
    doc = document(resource.props.get("policy"))
    if doc is not None:
        yield "policy", doc
    for index, inline in _inline_policies(resource):
        inline_doc = document(inline.get("policy"))
        if inline_doc is not None:
            yield f"inlinePolicies[{index}] ({inline.get('name') or 'unnamed'})", inline_doc


def unknown_documents(resource: Resource) -> Iterator[NotEvaluable]:
    """The permission documents of a resource that are not known yet (:func:`policy_documents` skips them)."""
    if is_unknown(resource.props.get("policy")):
        yield NotEvaluable("policy")
    if is_unknown(resource.props.get("inlinePolicies")):
        yield NotEvaluable("inlinePolicies")
    for index, inline in _inline_policies(resource):
        if is_unknown(inline.get("policy")):
            yield NotEvaluable(f"inlinePolicies[{index}].policy")


def label(statement: Mapping[str, Any], index: int) -> str:
    return f"statement {statement.get('Sid') or index}"


def principal_values(principal: Any) -> list[str]:
    """Every principal string of a Principal element (``"*"``, ARNs, service names)."""
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, Mapping):
        return [str(v) for values in principal.values() for v in as_list(values)]
    return [str(v) for v in as_list(principal)]


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for operator_values in (statement.get("Condition") or {}).values():
        if isinstance(operator_values, Mapping):
            keys.update(str(key).lower() for key in operator_values)
    return keys


def condition_value(statement: Mapping[str, Any], key: str) -> list[Any]:
    """Values any operator of the statement's Condition gives ``key`` (case-insensitive)."""
    found: list[Any] = []
    for operator_values in (statement.get("Condition") or {}).values():
        if isinstance(operator_values, Mapping):
            for name, value in operator_values.items():
                if str(name).lower() == key.lower():
                    found.extend(as_list(value))
    return found


def is_secure_transport_deny(statement: Mapping[str, Any]) -> bool:
    """A Deny of everyone when ``aws:SecureTransport`` is false."""
    if statement.get("Effect") != "Deny" or "*" not in principal_values(statement.get("Principal")):
        return False
    values = condition_value(statement, "aws:SecureTransport")
    return any(v is False or (isinstance(v, str) and v.lower() == "false") for v in values) and bool(
        as_list(statement.get("Action") or statement.get("NotAction"))
    )


def denies_insecure_transport(doc: Optional[Mapping[str, Any]]) -> bool:
    return any(is_secure_transport_deny(s) for s in statements(doc))


# -- resources that configure one another ----------------------------------------------------
#
# A resource names the one it configures by an input: a bucket's public access block by
# ``bucket``, a queue policy by ``queueUrl``, a redrive policy by the ARN inside its JSON. The
# pairing reads that input the way the program wrote it: a value known to the plan (the
# bucket's id or ARN, a name Pulumi generated, a name written out by hand) names the resource
# whose identifiers hold it; a value not known yet (a preview of new resources) names the
# resource the engine recorded it was computed from (``property_dependencies``). With neither,
# the pairing is not known: the rules report it as not evaluable, never as a pass or a failure.

# The inputs that hold a resource's physical name (a value's last segment may name it: the
# queue ``q`` of ``https://sqs.<region>.amazonaws.com/<account>/q``).
PHYSICAL_NAME_KEYS = ("name", "bucket", "clusterIdentifier", "identifier")


def reference(resource: Resource, path: str) -> Any:
    """The input of ``resource`` at the dotted ``path``, reading a JSON document on the way
    (``redrivePolicy.deadLetterTargetArn`` inside the JSON string ``redrivePolicy``); the
    unknown marker when it, or a document on the way, is not known yet."""
    return resource.memo(("reference", path), lambda: _reference(resource, path))


def _reference(resource: Resource, path: str) -> Any:
    value: Any = resource.props
    for part in path.split("."):
        if is_unknown(value):
            return UNKNOWN
        if isinstance(value, str):
            value = document(value)
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def physical_names(resource: Resource) -> frozenset[str]:
    """The physical names of a resource, set by the program or generated (the plan's outputs)."""
    return resource.memo("physical_names", lambda: _physical_names(resource))


def _physical_names(resource: Resource) -> frozenset[str]:
    found = set()
    for source in (resource.props, resource.outputs):
        for key in PHYSICAL_NAME_KEYS:
            value = source.get(key)
            if isinstance(value, str) and value and not is_unknown(value) and value != SECRET:
                found.add(value)
    return frozenset(found)


def names_resource(value: str, target: Resource) -> bool:
    """Whether the written-out ``value`` (an id, ARN, URL or name) names ``target``."""
    if value in target.identifiers():
        return True
    tail = re.split(r"[/:]", value)[-1]
    return tail != value and tail in physical_names(target)


def urn_type(urn: str) -> str:
    """The type token of a URN (``urn:pulumi:stack::project::parent$type::name`` -> ``type``)."""
    parts = urn.split("::")
    return parts[2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


def pairing(resource: Resource, path: str, target: Resource) -> Optional[bool]:
    """Whether the input ``path`` of ``resource`` names ``target``: by value when the value is
    known, by the engine's record of what it was computed from when it is not. None when that
    cannot be told yet: the value is not known and the engine recorded nothing for it, or it
    was computed from several resources of ``target``'s type."""
    if resource.urn == target.urn:
        return False
    value = reference(resource, path)
    if not is_unknown(value):
        return isinstance(value, str) and bool(value) and names_resource(value, target)
    sources = resource.property_dependencies.get(path.split(".")[0])
    if not sources:
        return None
    if target.urn not in sources:
        return False
    return True if sum(1 for urn in sources if urn_type(urn) == target.type) == 1 else None


# The last stack's resources grouped by type: a pairing rule asks, for each of its targets, for
# the resources of a few types among thousands (see :func:`of_types`).
_GROUPED: dict[str, Any] = {"resources": None, "groups": {}}


def of_types(resources: Sequence[Resource], types: Sequence[str]) -> list[Resource]:
    """The resources of ``types``, in the stack's order within each type. The grouping is kept
    for the list it was made from (the same list object), so the rules judging one stack group
    it once."""
    if _GROUPED["resources"] is not resources:
        groups: dict[str, list[Resource]] = {}
        for resource in resources:
            groups.setdefault(resource.type, []).append(resource)
        _GROUPED.update(resources=resources, groups=groups)
    groups = _GROUPED["groups"]
    return [resource for type_token in dict.fromkeys(types) for resource in groups.get(type_token, ())]


def configuring(target: Resource, resources: Sequence[Resource], types: Sequence[str], path: str
                ) -> tuple[list[Resource], list[Resource]]:
    """The resources of ``types`` whose input ``path`` names ``target`` (see :func:`pairing`),
    and those that may name it: which resource they name is not known yet."""
    matched: list[Resource] = []
    undecided: list[Resource] = []
    for resource in of_types(resources, types):
        verdict = pairing(resource, path, target)
        if verdict:
            matched.append(resource)
        elif verdict is None:
            undecided.append(resource)
    return matched, undecided


def bucket_name(resource: Resource) -> Optional[str]:
    name = resource.props.get("bucket") or resource.outputs.get("bucket")
    return name if isinstance(name, str) and name and not is_unknown(name) else None


def buckets(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type in S3_BUCKETS]


def for_bucket(bucket: Resource, resources: Sequence[Resource], types: Sequence[str]
               ) -> tuple[list[Resource], list[Resource]]:
    """The resources of ``types`` that configure ``bucket`` (by their ``bucket`` input), and
    those that may: their ``bucket`` is not known yet, nor what it was computed from."""
    return configuring(bucket, resources, types, "bucket")


def undecided(resources: Sequence[Resource], path: str) -> list[NotEvaluable]:
    """``path`` of each resource, not evaluable: which resource it names is not known yet."""
    return [NotEvaluable(path, resource.urn) for resource in resources]


def queue_name(resource: Resource) -> Optional[str]:
    name = resource.props.get("name") or resource.outputs.get("name")
    return name if isinstance(name, str) and name and not is_unknown(name) else None


def topic_name(resource: Resource) -> Optional[str]:
    return queue_name(resource)
