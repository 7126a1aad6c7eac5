"""Whether a topic's policy in the plan lets an agent's role publish: the report's other half of
a publish arrow (the role's own policy is the first).

The evaluation covers what the platform's topic policies are made of, in the order IAM applies
them: an explicit ``Deny`` whose conditions all hold refuses; otherwise an ``Allow`` whose
conditions all hold admits. Conditions on ``aws:PrincipalArn`` (``ArnEquals``, ``ArnLike`` and
their negations), on ``aws:PrincipalTag/<key>`` (``StringEquals``, ``StringNotEquals``) and
``aws:SecureTransport`` (a publishing agent uses TLS) are read; a negated operator holds when
the key is absent. Any other condition makes an ``Allow`` not apply and a ``Deny`` apply, so
an arrow is drawn only when the policy certainly admits the role.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Mapping, Optional

PUBLISH = "sns:publish"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _document(policy: Any) -> Optional[dict[str, Any]]:
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            return None
    return policy if isinstance(policy, dict) else None


def _principal_matches(principal: Any, role_arn: str, account_root: str, account_id: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return any(p in ("*", role_arn, account_root, account_id) for p in _as_list(principal.get("AWS")))


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> Optional[bool]:
    """Whether one condition holds; None when this module does not read it."""
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(expected)]
    actual = context.get(key)
    if key == "aws:SecureTransport" and operator == "Bool":
        return "true" in values
    if key != "aws:PrincipalArn" and not key.startswith("aws:PrincipalTag/"):
        return None
    positive = {"ArnEquals": "equals", "ArnLike": "like", "StringEquals": "equals"}
    negative = {"ArnNotEquals": "equals", "ArnNotLike": "like", "StringNotEquals": "equals"}
    kind = positive.get(operator) or negative.get(operator)
    if kind is None:
        return None
    if actual is None:
        return operator in negative
    matched = any(fnmatch.fnmatchcase(actual, v) if kind == "like" else actual == v for v in values)
    return matched if operator in positive else not matched


def _statement_applies(statement: Mapping[str, Any], context: Mapping[str, str], unknown: bool) -> bool:
    """Whether every condition of the statement holds; ``unknown`` is the answer for one not read."""
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, expected in (pairs or {}).items():
            holds = _condition_holds(operator, key, expected, context)
            if holds is None:
                holds = unknown
            if not holds:
                return False
    return True


def topic_admits(policy: Any, role_arn: str, tags: Mapping[str, str]) -> bool:
    """Whether the topic policy ``policy`` (a JSON document) lets the role ``role_arn``, tagged
    ``tags``, call ``sns:Publish``."""
    document = _document(policy)
    if document is None:
        return False
    parts = role_arn.split(":")
    account_id = parts[4] if len(parts) > 5 else ""
    account_root = ":".join(parts[:3] + ["", account_id, "root"]) if account_id else ""
    context = {"aws:PrincipalArn": role_arn, **{f"aws:PrincipalTag/{k}": str(v) for k, v in tags.items()}}
    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            continue
        if PUBLISH not in [str(a).lower() for a in _as_list(statement.get("Action"))]:
            continue
        if not _principal_matches(statement.get("Principal"), role_arn, account_root, account_id):
            continue
        if statement.get("Effect") == "Deny" and _statement_applies(statement, context, unknown=True):
            return False
        if statement.get("Effect") == "Allow" and _statement_applies(statement, context, unknown=False):
            allowed = True
    return allowed
