"""Pulumi's wire format of values, turned into the plan's plain JSON.

The engine hands a program's inputs and outputs over with signatures for secrets, resource
references, assets and values not known yet. :func:`clean` gives what the plan records
(secrets masked), :func:`unwrap` what another program reads (secrets kept). Pure functions:
reading a plan's outputs needs no SDK runtime, and the CrossGuard adapter reads what the
engine sends in a preview with the same functions.
"""

from __future__ import annotations

from typing import Any

from .markers import SECRET, UNKNOWN_VALUE

# Sentinels of Pulumi's wire format.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def clean(value: Any) -> Any:
    """Wire values -> plain JSON: secrets masked, references by URN, integral floats as ints."""
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return SECRET
        if sig == RESOURCE_SIG:
            return value.get("urn")
        if sig == OUTPUT_SIG:
            if value.get("secret"):
                return SECRET
            return clean(value["value"]) if "value" in value else UNKNOWN_VALUE
        if sig in (ASSET_SIG, ARCHIVE_SIG):
            return {k: v for k, v in value.items() if k in ("path", "uri", "text") and not isinstance(v, dict)}
        return {k: clean(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == UNKNOWN:
        return UNKNOWN_VALUE
    return value


def unwrap(value: Any) -> tuple[Any, bool]:
    """Wire values -> plain values another program can read, and whether a secret was inside.

    Like :func:`clean`, but secrets keep their value. A value not known yet becomes
    ``"[unknown]"``, as in the plan JSON: the engine's own unknown sentinel would reach a
    reading program as a missing output, so the marker is what shows where it flows.
    """
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return unwrap(value.get("value"))[0], True
        if sig == OUTPUT_SIG:
            inner, secret = unwrap(value["value"]) if "value" in value else (UNKNOWN_VALUE, False)
            return inner, secret or bool(value.get("secret"))
        if sig in (RESOURCE_SIG, ASSET_SIG, ARCHIVE_SIG):
            return clean(value), False
        pairs = {k: unwrap(v) for k, v in sorted(value.items())}
        return {k: v for k, (v, _) in pairs.items()}, any(secret for _, secret in pairs.values())
    if isinstance(value, list):
        items = [unwrap(v) for v in value]
        return [v for v, _ in items], any(secret for _, secret in items)
    return clean(value), False
