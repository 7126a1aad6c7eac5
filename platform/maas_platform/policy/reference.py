"""The policy control table (``docs/policies.md``), generated from the rules' metadata.

Every row is read off :func:`~.catalog.rules`: ID, title, severity, default enforcement
level, framework controls and remediation; the framework sections invert the rules' mappings
to list, per control, the rules that check it. The doc therefore cannot drift from the code;
a test compares the file with :func:`render`, and ``maas reference policies`` prints it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import yaml

from .catalog import rules
from .core import DEFAULT_MIN_LOG_RETENTION_DAYS, FRAMEWORKS, LEVELS, SEVERITIES, Rule
from .crossguard import CONFIG_COMMAND, NOT_EVALUABLE, PACK_NAME, policy_name

REGENERATE = "maas reference policies > docs/policies.md"

# checkov's checks, each with the rules that catch the same weakness or the reason it is not
# adopted; it lives beside the skip list (policies/checkov-skips.yaml), outside the package.
CHECKOV_MAP = Path(__file__).resolve().parents[3] / "policies" / "checkov-map.yaml"
CHECKOV_MAP_NAME = "policies/checkov-map.yaml"
# How an entry of the map answers its check: exactly one of these keys.
CHECKOV_ANSWERS = ("rules", "not_adopted", "to_adopt")


def cell(text: str) -> str:
    """Text fit for one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def anchor(text: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^a-z0-9 _-]", "", text.lower()).replace(" ", "-")


def _natural(control: str) -> tuple:
    """Sort key so that 5.1.10 comes after 5.1.2 and CC6.1 after CC1.4."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", control) if part)


def controls(framework: str, selected: Iterable[Rule]) -> list[tuple[str, list[str]]]:
    """The controls of ``framework`` that some rule maps to, each with those rules' IDs."""
    by_control: dict[str, list[str]] = {}
    for rule in selected:
        for control in rule.frameworks.get(framework, ()):
            by_control.setdefault(control, []).append(rule.id)
    return [(control, sorted(by_control[control])) for control in sorted(by_control, key=_natural)]


@dataclass(frozen=True)
class CheckovCheck:
    """One check of checkov and the platform's answer to it: ``rules`` that catch the same
    weakness, or the reason it is ``not_adopted``, or what a rule would refuse (``to_adopt``)."""

    id: str
    title: str
    rules: tuple[str, ...] = ()
    not_adopted: str = ""
    to_adopt: str = ""
    note: str = ""
    # The environments the rules apply in, when not every one (checkov's check applies everywhere).
    environments: tuple[str, ...] = ()


def checkov_checks(path: Path = CHECKOV_MAP) -> list[CheckovCheck]:
    """The entries of the checkov map, by check ID; ValueError names the first malformed one."""
    document = yaml.safe_load(path.read_text()) or {}
    checks = []
    for index, entry in enumerate(document.get("checks") or []):
        where = f"{path.name}: checks[{index}]"
        if not isinstance(entry, dict) or not entry.get("id"):
            raise ValueError(f"{where}: an entry needs an id")
        unknown = set(entry) - {"id", "title", "note", "environments", *CHECKOV_ANSWERS}
        answers = [key for key in CHECKOV_ANSWERS if key in entry]
        if unknown or len(answers) != 1:
            raise ValueError(f"{where} ({entry['id']}): give exactly one of {', '.join(CHECKOV_ANSWERS)}"
                             + (f"; unknown keys {sorted(unknown)}" if unknown else ""))
        checks.append(CheckovCheck(
            id=str(entry["id"]), title=" ".join(str(entry.get("title") or "").split()),
            rules=tuple(_strings(entry.get("rules"))),
            not_adopted=" ".join(str(entry.get("not_adopted") or "").split()),
            to_adopt=" ".join(str(entry.get("to_adopt") or "").split()),
            note=" ".join(str(entry.get("note") or "").split()),
            environments=tuple(_strings(entry.get("environments"))),
        ))
    return sorted(checks, key=lambda check: (check.id.startswith("CKV2"), _natural(check.id)))


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _frameworks(rule: Rule) -> str:
    return "; ".join(f"{name} {', '.join(rule.frameworks[name])}" for name in FRAMEWORKS if rule.frameworks.get(name))


def _applies_to(rule: Rule) -> str:
    if rule.scope == "stack":
        return "the whole stack"
    return ", ".join(f"`{token}`" for token in rule.types)


_INTRO = f"""\
# Policies: the platform's controls

<!-- Generated from the rule metadata in platform/maas_platform/policy/ (the modules catalog.py
     lists); do not edit by hand. Regenerate: {REGENERATE} -->

Every control of the platform is one rule: a plain Python function with its metadata beside
it, in [platform/maas_platform/policy/](../platform/maas_platform/policy/). The same function
runs in three places:

- **`maas plan`** evaluates every rule over the offline plan and lists the findings; a
  violation of a mandatory rule makes it exit 1 (the plan JSON carries them under
  `violations` and `exempted`);
- **the CrossGuard pack** in [policies/](../policies/) runs them under `pulumi preview` and
  `pulumi up` as Pulumi policies named by the lowercased ID (`MAAS-AWS-001` is `maas-aws-001`);
- **the tests** call them on compliant, non-compliant and incomplete resources.

One control judges a change rather than a plan, so the table below does not list it:
**MAAS-DIFF-001**, an agent removed from config without being retired first (mandatory in
staging and prod, advisory in dev), found by `maas diff BASE NEW` and `maas plan --base` in
two plans of one stack ([review.md](review.md#maas-diff-001-an-agent-removed-without-being-retired)).

A rule sees a resource as the engine sees it (type token, logical name, URN and camelCase
inputs; a Kubernetes object's `apiVersion`/`kind`/`metadata`/`spec`) and the stack's
environment. A property left out that defaults to an insecure value is a violation, not a pass.

A value known only after apply (the ARN of a key created in the same update, as
`pulumi preview` sends it) is neither: when a rule needs it, the check is **not evaluable**.
It never fails the gate; it is counted and listed with the rule, the resource and the
property (`maas plan`: `not_evaluable` in the plan JSON; the CrossGuard pack: an advisory
violation of the rule's `-not-evaluable` policy whose message starts with `not evaluable:`).

Enforcement levels: **mandatory** blocks (`maas plan` exits 1, `pulumi up` stops),
**advisory** is reported only, **disabled** does not run. Severity ranks a finding
({", ".join(SEVERITIES)}) independently of its level.
"""


def _table(selected: Sequence[Rule]) -> list[str]:
    lines = [
        "## Controls",
        "",
        "| ID | Title | Severity | Default level | Frameworks | Remediation |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for rule in selected:
        lines.append(
            f"| [{rule.id}](#{anchor(rule.id)}) | {cell(rule.title)} | {rule.severity} | {rule.level} "
            f"| {cell(_frameworks(rule))} | {cell(rule.remediation)} |"
        )
    counts = {level: sum(1 for r in selected if r.level == level) for level in LEVELS}
    lines += ["", f"{len(selected)} rules: " + ", ".join(f"{counts[level]} {level}" for level in LEVELS) + ".", ""]
    return lines


def _frameworks_sections(selected: Sequence[Rule]) -> list[str]:
    lines = [
        "## Frameworks",
        "",
        "Which rules check each control. A rule can map to controls of several frameworks; a",
        "control with no rule here is not checked by this platform's code.",
        "",
    ]
    for framework in FRAMEWORKS:
        mapped = controls(framework, selected)
        lines += [f"### {framework}", ""]
        if not mapped:
            lines += ["No rule maps to this framework yet.", ""]
            continue
        lines += ["| Control | Rules |", "| --- | --- |"]
        lines += [f"| {cell(control)} | {', '.join(f'[{i}](#{anchor(i)})' for i in ids)} |" for control, ids in mapped]
        lines.append("")
    return lines


def _checkov_section(selected: Sequence[Rule], checks: Sequence[CheckovCheck]) -> list[str]:
    lines = [
        "## checkov's checks and ours",
        "",
        "checkov runs its own checks over the plan's exports ([checkov.md](checkov.md)). Each check it",
        "raises on the insecure examples (`tests/fixtures/insecure` and the program cases of",
        "`tests/policy-corpus`) is answered here: by the rules that catch the same weakness (on those",
        "examples one of them fires where checkov fails), or with the reason the platform does not",
        "adopt it, or, where no rule checks it yet, with what a rule would refuse. Generated from",
        f"[{CHECKOV_MAP_NAME}](../{CHECKOV_MAP_NAME}); `tests/test_checkov.py` keeps it complete.",
        "",
    ]
    if not checks:
        return lines + [f"{CHECKOV_MAP_NAME} lists no check.", ""]
    known = {rule.id for rule in selected}
    lines += ["| checkov check | What it asks | Ours |", "| --- | --- | --- |"]
    for check in checks:
        if check.rules:
            ours = ", ".join(f"[{i}](#{anchor(i)})" if i in known else i for i in check.rules)
            ours += f" (in {', '.join(check.environments)})" if check.environments else ""
            ours += f". {check.note}" if check.note else ""
        elif check.not_adopted:
            ours = f"Not adopted: {check.not_adopted}"
        else:
            ours = f"No rule yet: {check.to_adopt}"
        lines.append(f"| {check.id} | {cell(check.title)} | {cell(ours)} |")
    counts = [sum(1 for c in checks if c.rules), sum(1 for c in checks if c.not_adopted),
              sum(1 for c in checks if c.to_adopt)]
    lines += ["", f"{len(checks)} checks: {counts[0]} matched by a rule, {counts[1]} not adopted, "
              f"{counts[2]} without a rule yet.", ""]
    return lines


def _rule_sections(selected: Sequence[Rule]) -> list[str]:
    lines = ["## Rules", ""]
    for rule in selected:
        lines += [
            f"### {rule.id}",
            "",
            f"**{cell(rule.title)}** · severity {rule.severity} · default {rule.level} · "
            f"CrossGuard policy `{policy_name(rule.id)}`",
            "",
            " ".join(rule.description.split()),
            "",
            f"- Applies to: {_applies_to(rule)}",
            f"- Frameworks: {_frameworks(rule) or 'none'}",
            f"- Remediation: {' '.join(rule.remediation.split())}",
            "",
        ]
    return lines


def _example(selected: Sequence[Rule]) -> str:
    """A ``maas:policy`` that uses real rule IDs (the first two rules), so it stays valid."""
    first = selected[0].id if selected else "MAAS-AWS-001"
    second = selected[1].id if len(selected) > 1 else first
    return f"""\
config:
  maas:environment: staging
  maas:policy:
    enforcement:
      {first}:                   # below its default: with why and until when (never in prod)
        level: advisory
        reason: Report only while the legacy import is migrated, reviewed by security in SEC-1233
        expires: 2027-06-30
      {second}: mandatory         # at or above its default: the level alone
    exemptions:
      - policy: {first}
        resources: [maas-staging-legacy-*]   # globs over logical names or URNs
        reason: Accepted risk until the legacy import is retired, reviewed by security in SEC-1234
        expires: 2027-06-30              # at most a year ahead; expired, it is a finding (MAAS-POL-003)
    min_log_retention_days: 60
"""


def _operations(selected: Sequence[Rule]) -> list[str]:
    first = selected[0].id if selected else "MAAS-AWS-001"
    retention = ", ".join(f"{env} {days}" for env, days in DEFAULT_MIN_LOG_RETENTION_DAYS.items())
    return [
        "## Changing enforcement and adding an exemption",
        "",
        "A stack changes a rule's level or exempts resources under `maas:policy` in",
        "`stacks/Pulumi.<stack>.yaml` (every key: [configuration.md](configuration.md#maas-policy)).",
        "An exemption names one policy, the resources it covers (globs over the logical name or",
        "the URN) and a reason of at least 10 characters; `maas plan` lists exempted findings with",
        "their reason under `exempted` and does not count them. Unknown policy IDs are errors. What",
        "a stack may loosen, where, and until when: [teams.md](teams.md#enforcement-exemptions-and-who-may-weaken-what).",
        "",
        "```yaml",
        _example(selected).rstrip(),
        "```",
        "",
        f"`min_log_retention_days` is the least retention a log group may have (default: {retention}).",
        "",
        "## Running the CrossGuard pack",
        "",
        f"The pack (`{PACK_NAME}`, [policies/](../policies/)) needs the Pulumi CLI and credentials,",
        "like any preview. Its virtualenv (`policies/venv`) gets `pulumi-policy` and this repository's",
        "package, installed editable from `..` (see `policies/requirements.txt`); `pulumi install`",
        "in `policies/` creates it. The stack's `maas:policy` and environment reach the pack",
        "through the policy pack config, rendered from the stack file:",
        "",
        "```bash",
        "(cd policies && pulumi install)",
        f".venv/bin/{CONFIG_COMMAND.replace('<stack>', 'prod')}",
        "pulumi preview --stack prod --policy-pack policies --policy-pack-config policy-config.prod.json",
        "```",
        "",
        "The config gives every policy its enforcement level (`enforcementLevel`), the",
        "`environment`, `min_log_retention_days` and its `exemptions`; an exempted resource is",
        "reported as not applicable, with the reason. Without `--policy-pack-config` the policies",
        "run at their default levels, without exemptions, in the environment the stack's",
        "`maas:environment` names.",
        "",
        "Resource policies see a resource's inputs, as `maas plan` does; stack policies see every",
        "resource's outputs after the update (a superset of the inputs).",
        "",
        f"Every rule has a second policy, `<policy>{NOT_EVALUABLE}` (`{policy_name(first)}{NOT_EVALUABLE}`), always",
        "advisory: it reports where the rule met a value the preview does not know yet, with the",
        "property, so a preview shows what the rules could not check instead of passing it. The",
        "config gives it the rule's environment and exemptions, and disables it with the rule.",
        "",
        "## Regenerating this file",
        "",
        "This file is generated from the rules' metadata; a test fails when it is stale. After",
        "adding or changing a rule:",
        "",
        "```bash",
        f".venv/bin/{REGENERATE}",
        "```",
    ]


def render(selected: Optional[Sequence[Rule]] = None, checkov: Optional[Sequence[CheckovCheck]] = None) -> str:
    """``docs/policies.md`` as Markdown; the same rules (and checkov map) always give the same text.
    ``checkov`` defaults to :data:`CHECKOV_MAP`, when the repository holds it."""
    chosen = list(rules() if selected is None else selected)
    if checkov is None:
        checkov = checkov_checks() if CHECKOV_MAP.exists() else []
    lines = [_INTRO.rstrip(), ""]
    lines += _table(chosen)
    lines += _frameworks_sections(chosen)
    lines += _checkov_section(chosen, checkov)
    lines += _rule_sections(chosen)
    lines += _operations(chosen)
    return "\n".join(lines).rstrip() + "\n"
