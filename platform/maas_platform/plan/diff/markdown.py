"""A plan diff as a pull-request comment (GitHub-flavoured Markdown).

The comment reads top-down as a review should: what the change does in one line, the data
it puts at risk (loud, before anything else), the findings that block it, a table per agent
with the cost delta, the policy findings it adds or clears, then per agent a collapsible
section with every resource and changed input. Its first line is an HTML comment naming the
stack (:data:`COMMENT_MARKER`), by which the plan workflow finds and updates its own comment
instead of adding one per push. A GitHub comment holds at most 65,536 characters; past
:data:`MAX_CHARS` the per-agent details are cut, and the comment says so.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from .compute import PLATFORM, PlanDiff, ResourceChange

COMMENT_MARKER = "<!-- maas-diff {project}/{stack} -->"
MAX_CHARS = 60_000
SYMBOLS = {"create": "+", "update": "~", "replace": "±", "delete": "-"}
_VALUE_CHARS = 120


def render_markdown(diff: PlanDiff, max_chars: int = MAX_CHARS) -> str:
    lines = [COMMENT_MARKER.format(project=diff.new["project"], stack=diff.new["stack"])]
    lines += _headline(diff)
    lines += _loud(diff)
    lines += _findings(diff)
    lines += _agents(diff)
    lines += _policy(diff)
    head = "\n".join(lines).rstrip() + "\n"
    details = _details(diff)
    text = head + ("\n" + details if details else "")
    if len(text) > max_chars:
        cut = details[: max(0, max_chars - len(head) - 200)]
        cut = cut[: cut.rfind("\n<details>")] if "\n<details>" in cut else ""
        text = head + ("\n" + cut if cut else "") + (
            "\n_The per-agent details are cut here (a comment holds 65,536 characters): "
            "`maas diff BASE NEW` prints them all._\n")
    return text


def _headline(diff: PlanDiff) -> list[str]:
    counts = diff.counts()
    where = f"`{diff.new['project']}/{diff.new['stack']}`"
    if diff.base["stack"] != diff.new["stack"]:
        where = f"`{diff.base['project']}/{diff.base['stack']}` → {where}"
    parts = [f"{counts[action]} to {action}" for action in ("create", "update", "replace", "delete") if counts[action]]
    verdict = ("**blocked**: " + f"{len(diff.mandatory)} mandatory finding" + ("s" if len(diff.mandatory) != 1 else "")
               if diff.mandatory else "no mandatory finding")
    lines = [f"### maas diff {where}", "",
             f"{', '.join(parts) if parts else 'No resource changes'} "
             f"({counts['unchanged']} unchanged) · {verdict}", ""]
    for note in diff.notes:
        lines += [f"> {note}", ""]
    return lines


def _loud(diff: PlanDiff) -> list[str]:
    loud = diff.loud
    if not loud:
        return []
    lines = ["#### :rotating_light: Data at risk", "",
             "| action | resource | agent | why |", "| --- | --- | --- | --- |"]
    for resource in loud:
        lines.append(f"| **{resource.action}** | `{_cell(resource.type)}` {_cell(resource.name)} "
                     f"| {_cell(resource.agent or PLATFORM)} | {_cell(resource.loud)} |")
    return lines + [""]


def _findings(diff: PlanDiff) -> list[str]:
    if not diff.findings:
        return []
    lines = ["#### Findings of this change", "", "| level | policy | agent | finding | fix |",
             "| --- | --- | --- | --- | --- |"]
    for finding in diff.findings:
        level = f"**{finding.level}**" if finding.level == "mandatory" else finding.level
        lines.append(f"| {level} | {finding.rule.id} | {_cell(finding.agent)} | {_cell(finding.message)} "
                     f"| {_cell(finding.rule.remediation)} |")
    return lines + [""]


def _agents(diff: PlanDiff) -> list[str]:
    grouped = diff.by_agent()
    currency = diff.cost.get("currency", "USD")
    lines = ["#### By agent", "", f"| agent | team | status | lifecycle | + | ~ | ± | - | monthly ({currency}) |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for agent in diff.agents:
        counts = _counts(grouped.get(agent.name, {}))
        before, after = agent.lifecycle
        lifecycle = after or before or "-"
        if before and after and before != after:
            lifecycle = f"{before} → {after}"
        lines.append(f"| {_cell(agent.name)} | {_cell(agent.team or '-')} | {agent.status} | {lifecycle} | "
                     + " | ".join(str(counts[a]) for a in ("create", "update", "replace", "delete"))
                     + f" | {_money(diff.cost.get('agents', {}).get(agent.name))} |")
    if PLATFORM in grouped:
        counts = _counts(grouped[PLATFORM])
        lines.append(f"| {PLATFORM} | - | changed | - | "
                     + " | ".join(str(counts[a]) for a in ("create", "update", "replace", "delete")) + " | |")
    for team, figures in diff.cost.get("teams", {}).items():
        if figures.get("delta"):
            lines.append(f"| team {_cell(team)} | | | | | | | | {_money(figures)} |")
    lines.append(f"| **total** | | | | | | | | {_money(diff.cost.get('total'))} |")
    return lines + [""]


def _policy(diff: PlanDiff) -> list[str]:
    if not (diff.policy_added or diff.policy_cleared):
        return []
    lines = [f"#### Policy findings: {len(diff.policy_added)} added, {len(diff.policy_cleared)} cleared", "",
             "| | level | policy | resource | finding |", "| --- | --- | --- | --- | --- |"]
    for sign, entries in (("added", diff.policy_added), ("cleared", diff.policy_cleared)):
        for v in entries:
            resource = str(v.get("urn") or "").split("::")[-1] or "(stack)"
            lines.append(f"| {sign} | {v.get('level')} | {v.get('policy')} | {_cell(resource)} | {_cell(v.get('message'))} |")
    return lines + [""]


def _details(diff: PlanDiff) -> str:
    blocks = []
    for agent, components in diff.by_agent().items():
        counts = _counts(components)
        summary = ", ".join(f"{counts[a]} to {a}" for a in ("create", "update", "replace", "delete") if counts[a])
        title = agent if agent == PLATFORM else f"agent {agent}"
        lines = ["<details>", f"<summary>{_html(title)}: {summary}</summary>", ""]
        for component, resources in components.items():
            lines.append(f"**{_html(component)}**")
            lines.append("")
            for resource in resources:
                lines += _resource_lines(resource)
            lines.append("")
        lines.append("</details>")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _resource_lines(resource: ResourceChange) -> list[str]:
    mark = " :rotating_light:" if resource.loud else ""
    moved = f" (moved from `{_code(resource.moved_from.split('::')[-1])}`)" if resource.moved_from else ""
    lines = [f"- `{SYMBOLS[resource.action]} {_code(resource.type)}` {_html(resource.name)}{moved}{mark}"]
    for change in resource.changes:
        replaces = " **(replaces)**" if change.path in resource.replace_on else ""
        lines.append(f"  - `{_code(change.path)}`: `{_code(_value(change.old))}` → `{_code(_value(change.new))}`"
                     f"{replaces}")
    return lines


def _counts(components: dict[str, list[ResourceChange]]) -> dict[str, int]:
    counted = {action: 0 for action in ("create", "update", "replace", "delete")}
    for resources in components.values():
        for resource in resources:
            counted[resource.action] += 1
    return counted


def _money(figures: Optional[dict[str, Any]]) -> str:
    if not figures or figures.get("delta") is None:
        return "-"
    return money(figures)


def money(figures: dict[str, Any]) -> str:
    """``base → new (±delta)``, or the one figure when it did not change."""
    before, after, delta = figures.get("base"), figures.get("new"), figures.get("delta")
    shown = lambda value: "-" if value is None else f"{value:,.2f}"  # noqa: E731
    if not delta and before == after:
        return shown(after)
    return f"{shown(before)} → {shown(after)} ({(delta or 0.0):+,.2f})"


def value_text(value: Any, limit: int = _VALUE_CHARS) -> str:
    """A value on one line, cut to a reviewable length (``(absent)`` when the input is not set)."""
    text = "(absent)" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_value = value_text


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    return str(text).replace("`", "'").replace("\n", " ")


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
