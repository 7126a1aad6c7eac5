"""``maas plan``: plan a stack offline, write its exports, print what it would create and cost.

The command orchestrates: :func:`~maas_platform.plan.plan_project` makes the plan (program,
estimate, policy gate), then the exports and the HTML report are written from the plan alone.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import typer
from rich.table import Table

from ..config.loader import ConfigError
from .console import EXIT_FAILED, EXIT_OK, console, errors, fail, program_failed, warn


def plan(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack to plan; reads <stackConfigDir>/Pulumi.<stack>.yaml."),
    config_file: Optional[Path] = typer.Option(
        None, "--config-file", help="Plan this stack config file instead (stack name from Pulumi.<stack>.yaml or --stack)."
    ),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the plan as JSON to this path."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write exports here: plan.json, manifests/*.yaml."),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="Directory holding Pulumi.yaml."),
    platform_dir: Optional[Path] = typer.Option(
        None, "--platform-dir",
        help="Team stacks: the platform project to plan maas:platform_stack from "
             "(default: the nearest project above --project-dir that the stack name's <org>/<project>/ names).",
    ),
    platform_outputs: Optional[Path] = typer.Option(
        None, "--platform-outputs",
        help="Team stacks: read maas:platform_stack's outputs from this JSON object of name -> value "
             "(pulumi stack output --json --show-secrets) instead of planning the platform.",
    ),
    usage: Optional[Path] = typer.Option(
        None, "--usage",
        help="Usage assumptions of the cost estimate (layout of maas_platform/cost/usage.yaml, the default).",
    ),
    html_path: Optional[Path] = typer.Option(
        None, "--html",
        help="Write the plan as one self-contained HTML page (architecture diagram, agent cards, policy findings, "
             "cost chart) to this path; needs Graphviz's dot.",
    ),
    base: Optional[Path] = typer.Option(
        None, "--base",
        help="After planning, print what changes against this earlier plan (maas plan --json of the base commit): "
             "maas diff BASE NEW; its mandatory findings fail the plan too.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors (and no progress)."),
    debug: bool = typer.Option(False, "--debug", help="When the program fails, print its full traceback too."),
) -> None:
    """Plan a stack offline: run the real program under Pulumi's mock engine with a fake cloud.

    Team stacks read their platform stack (maas:platform_stack) from --platform-outputs,
    else from an offline plan of the platform stack, made first.

    Exit codes:

    \b
    0  planned, no mandatory policy violation
    1  planned, with mandatory violations (the findings table names them),
       or --base: a mandatory finding of the change (maas diff)
    2  invalid configuration or usage (one line: the key and the fix)
    3  the program failed: an exception, a syntax error, or a data source
       the offline plan cannot answer (one line: file:line, type, message;
       --debug adds the traceback)
    """
    from ..plan import plan_project
    from ..plan.engine import ProgramFailure
    from ..plan.exports import write_exports

    if html_path is not None:
        from ..report import DiagramError, require_dot

        try:  # before planning: a missing Graphviz should not cost a whole plan
            require_dot()
        except DiagramError as error:
            raise fail(str(error))
    base_plan = None
    if base is not None:  # read before planning: a wrong path should not cost a whole plan
        from .diff import load_plan

        base_plan = load_plan(base, "--base")
    started = time.perf_counter()
    try:
        with _progress(enabled=not quiet and console.is_terminal) as on_register:
            result = plan_project(
                project_dir, stack=stack, config_file=config_file,
                platform_dir=platform_dir, platform_outputs=platform_outputs, usage=usage,
                on_register=on_register,
            )
    except ConfigError as error:
        raise fail(str(error))
    except ProgramFailure as failure:
        raise program_failed(str(failure), failure.details if debug else "")
    elapsed = time.perf_counter() - started

    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(result.to_json())
    written = write_exports(result, out) if out is not None else []
    if html_path is not None:
        from ..report import DiagramError, write_report

        try:
            written_html = write_report(result, html_path)
        except DiagramError as error:
            raise fail(str(error))

    for warning in result.warnings:
        warn(warning)
    if not quiet:
        _print_summary(result, elapsed)
        _print_cost(result, usage)
    _print_findings(result, quiet)
    if not quiet:
        for path in ([json_path] if json_path else []) + written[:2] + ([written_html] if html_path else []):
            console.print(f"wrote {path}")
        for folder, what in (("manifests", "Kubernetes manifests"), ("rules", "Prometheus rule files"),
                             ("openslo", "OpenSLO documents")):
            count = sum(1 for path in written if path.parent.name == folder)
            if count:
                console.print(f"wrote {count} {what} under {out / folder}")
    mandatory = [v for v in result.violations if v.get("level") == "mandatory"]
    if base_plan is not None:
        mandatory += _print_change(base_plan, result, quiet)
    raise typer.Exit(EXIT_FAILED if mandatory else EXIT_OK)


def _print_change(base_plan, result, quiet: bool) -> list:
    """``--base``: the diff from the base plan to this one (``maas diff``), and its mandatory
    findings. The plan is compared as its JSON reads, as ``maas diff`` would read the file."""
    import json

    from rich.markup import escape

    from ..plan import Plan
    from ..plan.diff import DiffError, diff_plans
    from .diff import print_diff

    try:
        change = diff_plans(base_plan, Plan.from_dict(json.loads(result.to_json())))
    except DiffError as error:
        raise fail(f"--base: {error}")
    if not quiet:
        console.print()
        print_diff(change)
    else:
        for finding in change.mandatory:
            errors.print(f"[bold red]mandatory[/] {finding.rule.id}: {escape(finding.message)}", highlight=False)
    return change.mandatory


@contextmanager
def _progress(enabled: bool) -> Iterator[Optional[Callable]]:
    """A live count of the resources the program registers, for a person at a terminal.

    The total is not known until the program has run (agents, storage kinds and messaging
    change it), so the display is a spinner, the count, the elapsed time and the resource
    just registered; it disappears when the plan is done. Yields the engine's callback,
    or None (no display) when ``enabled`` is false: ``--quiet``, or output to a file or a CI log.
    """
    if not enabled:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("planning [bold]{task.description}[/]"),
               TextColumn("{task.completed} resources"), TimeElapsedColumn(), TextColumn("[dim]{task.fields[last]}"))
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, int] = {}

        def on_register(registration) -> None:
            # urn:pulumi:<stack>::<project>::...: a team stack's platform is planned first, as its own line.
            stack_name, project, *_ = registration.urn.removeprefix("urn:pulumi:").split("::")
            key = f"{project}/{stack_name}"
            if key not in tasks:
                tasks[key] = progress.add_task(key, total=None, last="")
            progress.update(tasks[key], advance=1, last=registration.name)

        yield on_register


def _print_summary(result, elapsed: float) -> None:
    table = Table(title=f"{result.project}/{result.stack}: offline plan", show_lines=False)
    table.add_column("component")
    table.add_column("resource type")
    table.add_column("count", justify="right")
    summary = result.summary()
    for component in sorted(summary):
        for index, (type_token, count) in enumerate(sorted(summary[component].items())):
            table.add_row(component if index == 0 else "", type_token, str(count))
    console.print(table)
    total = len(result.cloud_resources())
    components = sum(1 for r in result.resources if not r.custom)
    console.print(f"{total} resources in {components} components, planned in {elapsed:.1f}s")
    for name, source in sorted(result.stack_references.items()):
        console.print(f"read stack {name} from the {source}", highlight=False)


def _resource(entry: dict[str, Any]) -> str:
    return str(entry.get("urn") or "").split("::")[-1] or "(stack)"


def _findings_table(title: str, findings: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("level", "severity", "policy", "resource", "finding"):
        table.add_column(column, overflow="fold")
    for v in findings:
        style = "red" if v["level"] == "mandatory" else "yellow"
        table.add_row(f"[{style}]{v['level']}[/]", v["severity"], v["policy"], _resource(v), v["message"])
    return table


def _not_evaluable_table(title: str, entries: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("policy", "resource", "property", "why"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(str(entry.get("policy")), _resource(entry), str(entry.get("property") or "-"),
                      str(entry.get("message")))
    return table


def _print_findings(result, quiet: bool) -> None:
    """The policy findings: a table of violations (mandatory ones even when quiet), the checks
    no rule could make offline (advisory, never a failure), then one line of counts."""
    from ..policy import rules

    shown = [v for v in result.violations if not quiet or v["level"] == "mandatory"]
    if shown:
        title = f"{result.project}/{result.stack}: policy findings (docs/policies.md)"
        (errors if quiet else console).print(_findings_table(title, shown))
    if quiet:
        return
    if result.not_evaluable:
        title = f"{result.project}/{result.stack}: not evaluable offline (values known only after apply)"
        console.print(_not_evaluable_table(title, result.not_evaluable))
    counts = {level: sum(1 for v in result.violations if v["level"] == level) for level in ("mandatory", "advisory")}
    unseen = f", {len(result.not_evaluable)} not evaluable" if result.not_evaluable else ""
    console.print(f"policy: {len(rules())} rules, {counts['mandatory']} mandatory and {counts['advisory']} advisory "
                  f"violations, {len(result.exempted)} exempted{unseen}", highlight=False)


def _usd(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _print_cost(result, usage: Optional[Path]) -> None:
    """The estimate: by component (agents by name), total, then agents and teams, then unpriced."""
    cost = result.cost
    if not cost:
        return
    # component -> resource type -> [baseline, usage]; an agent is one row.
    rows: dict[str, dict[str, list[float]]] = {}
    for resource in cost["resources"]:
        if resource["agent"]:
            label, kind = f"agent {resource['agent']}", "(its resources)"
        else:
            label, kind = result.component_of(result.get(resource["urn"])), resource["type"]
        row = rows.setdefault(label, {}).setdefault(kind, [0.0, 0.0])
        row[0] += resource["baseline"]
        row[1] += resource["usage"]
    table = Table(
        title=f"{result.project}/{result.stack}: estimated monthly cost ({cost['currency']}, {cost['region']} list prices, "
              f"{cost['hours_per_month']:g} h)",
    )
    table.add_column("component")
    table.add_column("resource type")
    for column in ("baseline", "usage", "monthly"):
        table.add_column(column, justify="right")

    def total(kinds: dict[str, list[float]]) -> float:
        return sum(sum(pair) for pair in kinds.values())

    for label, kinds in sorted(rows.items(), key=lambda item: (-total(item[1]), item[0])):
        ordered = sorted(kinds.items(), key=lambda item: (-sum(item[1]), item[0]))
        for index, (kind, (baseline, used)) in enumerate(ordered):
            table.add_row(label if index == 0 else "", kind, _usd(baseline), _usd(used), _usd(baseline + used))
    table.add_section()
    table.add_row("[bold]total[/]", "", _usd(cost["baseline"]), _usd(cost["usage"]),
                  f"[bold]{_usd(cost['monthly_total'])}[/]")
    console.print(table)
    if cost["by_agent"]:
        agents = Table(title="by agent and team (allocated: the node cost its pods reserve, already in the nodes' line)")
        for column in ("agent", "team"):
            agents.add_column(column)
        for column in ("baseline", "usage", "monthly", "allocated"):
            agents.add_column(column, justify="right")
        for name, figures in cost["by_agent"].items():
            agents.add_row(name, figures["team"], _usd(figures["baseline"]), _usd(figures["usage"]),
                           _usd(figures["monthly"]), _usd(figures["allocated"]))
        agents.add_section()
        for team, figures in cost["by_team"].items():
            agents.add_row(f"team {team}", ", ".join(figures["agents"]), _usd(figures["baseline"]), _usd(figures["usage"]),
                           _usd(figures["monthly"]), _usd(figures["allocated"]))
        console.print(agents)
    llm = cost.get("llm") or {}
    if llm.get("by_agent"):
        spend = Table(title="LLM spend beside it, not in the totals (tokens of usage.yaml at the token prices of prices.yaml)")
        for column in ("agent", "team"):
            spend.add_column(column)
        for column in ("bedrock", "gateway", "monthly"):
            spend.add_column(column, justify="right")
        for name, figures in list(llm["by_agent"].items()) + [(f"team {t}", {**f, "team": ", ".join(f["agents"])})
                                                               for t, f in llm["by_team"].items()]:
            spend.add_row(name, figures["team"], _usd(figures["bedrock"]), _usd(figures["gateway"]), _usd(figures["monthly"]))
        console.print(spend)
    for entry in llm.get("unpriced") or []:
        warn(f"LLM {entry['agent']}: {entry['model']} ({entry['path']}): {entry['reason']}", label="unpriced")
    source = usage or "maas_platform/cost/usage.yaml"
    console.print(f"usage priced from the assumptions in {source} (--usage FILE to change them)", highlight=False)
    for entry in cost["unpriced"]:
        warn(f"{entry['count']} × {entry['type']}: {entry['reason']}", label="unpriced")
    capacity = cost.get("capacity") or {}
    for target in capacity.get("targets", []):
        console.print(f"nodes of {target['kind'].replace('_', ' ')} {target['name']}: {target['reason']}", highlight=False)
    for entry in capacity.get("pending", []) + capacity.get("unknown", []):
        warn(f"{entry['replicas']} × {entry['pod']}: {entry['reason']}", label="pods not packed")
