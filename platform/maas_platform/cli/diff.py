"""``maas diff BASE NEW``: what a change adds, changes and removes, from two plan JSON files.

The same diff prints after ``maas plan --base BASE.json`` (:func:`print_diff`). Three forms:
the console (grouped by agent and component, fits 80 columns), ``--markdown`` (the
pull-request comment the plan workflow posts) and ``--json`` (schema in docs/review.md).
Exit codes as ``maas plan``: 0 no mandatory finding, 1 a mandatory finding of the change
(an agent removed without being retired, in staging or prod), 2 usage or unreadable plans.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .console import EXIT_FAILED, EXIT_OK, console, fail



def differing(old: str, new: str, room: int) -> tuple[str, str]:
    """Two long values cut to ``room`` characters around where they start to differ, so an image
    tag bump shows its tags (``…/triage-agent:1.4.0`` and ``…/triage-agent:9.9.9``), not the
    registry both share."""
    if len(old) <= room and len(new) <= room:
        return old, new
    same = 0
    while same < min(len(old), len(new)) and old[same] == new[same]:
        same += 1
    start = max(0, same - 12)

    def cut(text: str) -> str:
        text = ("…" if start else "") + text[start:]
        return text if len(text) <= room else text[: room - 1] + "…"
    return cut(old), cut(new)

def diff(
    base: Path = typer.Argument(..., metavar="BASE", help="The plan before the change (maas plan --json FILE)."),
    new: Path = typer.Argument(..., metavar="NEW", help="The plan after the change."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the diff as a pull-request comment (Markdown)."),
    as_json: bool = typer.Option(False, "--json", help="Print the diff as JSON (schema: docs/review.md)."),
) -> None:
    """Show what a change does: two offline plans compared, by agent and component.

    Resources to create, update, replace and delete, each changed input (secrets masked),
    stateful resources replaced or deleted (loud), the cost delta per agent and team, the
    policy findings added and cleared, and agents removed without being retired.

    Exit codes:

    \b
    0  compared, no mandatory finding
    1  a mandatory finding: an agent removed without being retired
       (staging, prod)
    2  usage: unreadable plans, or plans of two projects
    """
    from ..plan.diff import DiffError, diff_plans, render_markdown

    if markdown and as_json:
        raise fail("--markdown and --json: choose one output form")
    try:
        change = diff_plans(load_plan(base, "BASE"), load_plan(new, "NEW"))
    except DiffError as error:
        raise fail(str(error))
    if markdown:
        console.out(render_markdown(change), end="", highlight=False)
    elif as_json:
        console.out(change.to_json(), end="", highlight=False)
    else:
        print_diff(change)
    raise typer.Exit(EXIT_FAILED if change.mandatory else EXIT_OK)


def load_plan(path: Path, what: str):
    """A plan JSON file (``maas plan --json``), or exit 2 with one line naming the file and the fix."""
    from ..plan import Plan

    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise fail(f"{what} {path}: {error.strerror or error}; give a plan written by maas plan --json")
    except ValueError as error:
        raise fail(f"{what} {path}: not JSON ({error}); give a plan written by maas plan --json")
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list) or "project" not in document:
        raise fail(f"{what} {path}: not a plan (no project and resources); give a plan written by maas plan --json")
    return Plan.from_dict(document)


# The layout keeps a change's lines within 80 columns (long property paths aside).
_WIDTH = 80
_STYLE = {"create": "green", "update": "yellow", "replace": "bold red", "delete": "bold red"}


def print_diff(change) -> None:
    """The diff on the console: headline, data at risk, findings, then each agent's changes."""
    from ..plan.diff import PlanDiff
    from ..plan.diff.compute import PLATFORM
    from ..plan.diff.markdown import SYMBOLS, money as arrowed, value_text

    assert isinstance(change, PlanDiff)

    def money(figures) -> str:
        return arrowed(figures).replace("→", "->")

    counts = change.counts()
    where = f"{change.new['project']}/{change.new['stack']}"
    summary = ", ".join(f"{counts[a]} to {a}" for a in ("create", "update", "replace", "delete") if counts[a])
    console.print(f"[bold]{escape(where)}[/]: {summary or 'no resource changes'} ({counts['unchanged']} unchanged)",
                  highlight=False)
    for note in change.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    if change.loud:
        console.print("[bold red]DATA AT RISK[/]", highlight=False)
        for resource in change.loud:
            console.print(f"  [bold red]{resource.action}[/] {escape(resource.type)} {escape(resource.name)} "
                          f"({escape(resource.agent or PLATFORM)})", highlight=False)
            console.print(_wrapped(resource.loud, "      "), highlight=False)
    for finding in change.findings:
        style = "bold red" if finding.level == "mandatory" else "yellow"
        text = _wrapped(f"{finding.level} {finding.rule.id}: {finding.message}", "      ", first="")
        console.print(f"[{style}]{finding.level}[/]{text[len(finding.level):]}", highlight=False)
        console.print(_wrapped(f"fix: {finding.rule.remediation}", "      "), highlight=False)

    agents = {a.name: a for a in change.agents}
    grouped = change.by_agent()
    for name, components in grouped.items():
        agent = agents.get(name)
        if agent is not None:
            lifecycle = agent.lifecycle[1] or agent.lifecycle[0] or "-"
            if agent.lifecycle[0] and agent.lifecycle[1] and agent.lifecycle[0] != agent.lifecycle[1]:
                lifecycle = f"{agent.lifecycle[0]} -> {agent.lifecycle[1]}"
            cost = change.cost.get("agents", {}).get(name)
            monthly = f", monthly {money(cost)}" if cost and cost.get("delta") is not None else ""
            console.print(f"\n[bold]agent {escape(name)}[/] ({escape(agent.team or '-')}): {agent.status}, "
                          f"{lifecycle}{escape(monthly)}", highlight=False)
        else:
            console.print(f"\n[bold]{escape(name)}[/]", highlight=False)
        for component, resources in components.items():
            console.print(f"  {escape(component)}", highlight=False)
            for resource in resources:
                style = _STYLE[resource.action]
                gap = " " if len(resource.type) + len(resource.name) + 7 <= _WIDTH else "\n        "
                console.print(f"    [{style}]{SYMBOLS[resource.action]}[/] {escape(resource.type)}{gap}"
                              f"{escape(resource.name)}", highlight=False)
                for item in resource.changes:
                    replaces = " [bold red](replaces)[/]" if item.path in resource.replace_on else ""
                    old, new = value_text(item.old, 30), value_text(item.new, 30)
                    if len(item.path) + len(old) + len(new) + 14 <= _WIDTH and "…" not in old + new:
                        line = f"        {escape(item.path)}: {escape(old)} -> {escape(new)}{replaces}"
                    else:  # the path on its line, each value on its own line, cut where they differ
                        old, new = differing(value_text(item.old, 4096), value_text(item.new, 4096), _WIDTH - 12)
                        line = (f"        {escape(item.path)}{replaces}\n          - {escape(old)}"
                                f"\n          + {escape(new)}")
                    console.print(line, highlight=False)
    for name, agent in agents.items():
        if name not in grouped and agent.status != "unchanged":
            console.print(f"\n[bold]agent {escape(name)}[/]: {agent.status}", highlight=False)

    total = change.cost.get("total") or {}
    teams = [f"team {team} {money(figures)}" for team, figures in change.cost.get("teams", {}).items()
             if figures.get("delta")]
    console.print()
    console.print(_wrapped(f"cost ({change.cost.get('currency', 'USD')}/month): total {money(total)}"
                           + (f"; {'; '.join(teams)}" if teams else ""), "  ", first=""), highlight=False)
    console.print(f"policy: {len(change.policy_added)} findings added, {len(change.policy_cleared)} cleared",
                  highlight=False)
    for sign, entries in (("+", change.policy_added), ("-", change.policy_cleared)):
        for v in entries:
            resource = str(v.get("urn") or "").split("::")[-1] or "(stack)"
            console.print(_wrapped(f"{sign} {v.get('level')} {v.get('policy')} {resource}: {v.get('message')}",
                                   "      ", first="  "), highlight=False)


def _wrapped(text: str, indent: str, first: Optional[str] = None) -> str:
    """``text`` filled to 80 columns (words kept whole), markup escaped."""
    lines = textwrap.wrap(" ".join(str(text).split()), width=_WIDTH, initial_indent=indent if first is None else first,
                          subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    return escape("\n".join(lines))
