"""The verification report: findings grouped by agent, as rich tables and as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from rich.console import Console
from rich.table import Table

from .checks import DRIFT, OK, SKIPPED, Finding
from .expect import PLATFORM


@dataclass
class Report:
    project: str
    stack: str
    account: str
    region: str
    endpoint_url: Optional[str]
    findings: list[Finding]
    unmatched: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def drift(self) -> list[Finding]:
        return [f for f in self.findings if f.status == DRIFT]

    def by_agent(self) -> dict[str, list[Finding]]:
        """Findings per agent, the platform first, then agents by name."""
        groups: dict[str, list[Finding]] = {}
        for item in sorted(self.findings, key=lambda f: (f.agent != PLATFORM, f.agent)):
            groups.setdefault(item.agent, []).append(item)
        return groups

    def summary(self) -> dict[str, Any]:
        resources = {(f.agent, f.kind, f.resource) for f in self.findings}
        drifted = {(f.agent, f.kind, f.resource) for f in self.drift}
        return {
            "resources": len(resources),
            "checks": sum(1 for f in self.findings if f.status != SKIPPED),
            "drift": len(self.drift),
            "drifted_resources": len(drifted),
            "skipped": sum(1 for f in self.findings if f.status == SKIPPED),
        }

    def to_dict(self) -> dict[str, Any]:
        agents = {}
        for agent, findings in self.by_agent().items():
            agents[agent] = {
                "resources": len({(f.kind, f.resource) for f in findings}),
                "drift": sum(1 for f in findings if f.status == DRIFT),
                "findings": [{k: v for k, v in f.to_dict().items() if k != "agent"} for f in findings],
            }
        return {
            "project": self.project,
            "stack": self.stack,
            "account": self.account,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "status": "drift" if self.drift else "ok",
            "summary": self.summary(),
            "elapsed_seconds": round(self.elapsed, 2),
            "agents": agents,
            "unmatched": self.unmatched,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def print_report(report: Report, console: Console) -> None:
    """A table of drift grouped by agent (when any), then one row per agent, then one line of counts."""
    where = f" via {report.endpoint_url}" if report.endpoint_url else ""
    console.print(f"{report.project}/{report.stack} against account {report.account} ({report.region}{where})",
                  highlight=False)
    if report.drift:
        table = Table(title="drift")
        for column in ("agent", "resource", "check", "expected", "found"):
            table.add_column(column, overflow="fold")
        previous = None
        for item in sorted(report.drift, key=lambda f: (f.agent != PLATFORM, f.agent, f.kind, f.resource)):
            if previous is not None and item.agent != previous:
                table.add_section()
            table.add_row(item.agent if item.agent != previous else "", f"{item.kind} {item.resource}",
                          f"[red]{item.check}[/]", item.expected, item.actual)
            previous = item.agent
        console.print(table)
    agents = Table(title="by agent")
    agents.add_column("agent")
    for column in ("resources", "checks", "drift"):
        agents.add_column(column, justify="right")
    agents.add_column("status")
    for agent, findings in report.by_agent().items():
        drift = sum(1 for f in findings if f.status == DRIFT)
        agents.add_row(
            agent,
            str(len({(f.kind, f.resource) for f in findings})),
            str(sum(1 for f in findings if f.status != SKIPPED)),
            str(drift),
            f"[red]{DRIFT}[/]" if drift else f"[green]{OK}[/]",
        )
    console.print(agents)
    for item in report.findings:
        if item.status == SKIPPED:
            console.print(f"skipped: {item.agent} {item.kind} {item.resource} {item.check}: {item.actual}",
                          highlight=False)
    for line in report.unmatched:
        console.print(f"not checked: {line}", highlight=False)
    counts = report.summary()
    verdict = "[red]drift[/]" if report.drift else "[green]no drift[/]"
    console.print(
        f"{verdict}: {counts['resources']} resources, {counts['checks']} checks, {counts['drift']} drifted "
        f"({counts['drifted_resources']} resources) in {report.elapsed:.1f}s",
        highlight=False,
    )
