"""Preflight findings: one line each, grouped, and the report they make (text and JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from rich.console import Console

# A blocker stops the first ``pulumi up``; a warning is worth fixing first; info is a step
# outside the environment stacks; ok is a check that holds.
BLOCKER, WARNING, INFO, OK = "blocker", "warning", "info", "ok"
LEVELS = (BLOCKER, WARNING, INFO, OK)

# The groups, in the order a person fixes them.
IDENTITY, ROLES, STATE, QUOTAS, COST_ALLOCATION = "identity", "roles", "state", "quotas", "cost allocation"
GROUPS = (IDENTITY, ROLES, STATE, QUOTAS, COST_ALLOCATION)


@dataclass(frozen=True)
class Finding:
    """One thing checked: its group, what it is, and one line saying what was found (and the fix)."""

    level: str
    group: str
    subject: str
    message: str

    def line(self) -> str:
        return f"{self.level}: {self.subject}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    project: str
    stack: str
    account: str
    region: str
    endpoint_url: Optional[str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.level == BLOCKER]

    def grouped(self) -> dict[str, list[Finding]]:
        """Findings per group in :data:`GROUPS` order; within a group, blockers first."""
        groups: dict[str, list[Finding]] = {}
        for group in GROUPS:
            found = [f for f in self.findings if f.group == group]
            if found:
                groups[group] = sorted(found, key=lambda f: LEVELS.index(f.level))
        return groups

    def counts(self) -> dict[str, int]:
        return {level: sum(1 for f in self.findings if f.level == level) for level in LEVELS}

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "stack": self.stack,
            "account": self.account,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "status": "blocked" if self.blockers else "ready",
            "summary": self.counts(),
            "groups": {group: [f.to_dict() for f in found] for group, found in self.grouped().items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


STYLE = {BLOCKER: "bold red", WARNING: "yellow", INFO: "cyan", OK: "green"}


def print_report(report: Report, console: Console) -> None:
    """A heading per group, one line per finding, then the verdict."""
    where = f" via {report.endpoint_url}" if report.endpoint_url else ""
    console.print(f"{report.project}/{report.stack}: preflight of account {report.account} "
                  f"({report.region}{where})", highlight=False)
    for group, found in report.grouped().items():
        console.print(f"[bold]{group}[/]")
        for item in found:
            console.print(f"  [{STYLE[item.level]}]{item.level}:[/] {item.subject}: {item.message}",
                          highlight=False, soft_wrap=True)
    counts = report.counts()
    tally = ", ".join(f"{counts[level]} {level}" for level in LEVELS)
    if report.blockers:
        console.print(f"[bold red]blocked[/]: {tally}: fix the blockers before the first pulumi up", highlight=False)
    else:
        console.print(f"[green]ready[/]: {tally}", highlight=False)
