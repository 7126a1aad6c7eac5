"""The console every ``maas`` command prints to, and the exit codes they share."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

# Wide enough for type tokens when the output is a file or a CI log.
console = Console(width=None if Console().is_terminal else 140)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 400)

# 0 done; 1 the command's check failed (mandatory violations, drift, a stale document);
# 2 usage, configuration or credential error; 3 the Pulumi program itself failed (an exception,
# a syntax error, a data source the offline plan cannot answer).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PROGRAM = 0, 1, 2, 3


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on one line and return the exit (code 2) to raise."""
    # Escaped: a message quotes config values, and "[arm64]" would otherwise be read as markup.
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def program_failed(message: str, details: str = "") -> typer.Exit:
    """Print ``error: message`` on one line (then ``details``, a traceback, when given) and
    return the exit (code 3) to raise."""
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if details:
        errors.print(details.rstrip(), highlight=False, soft_wrap=True, markup=False)
    return typer.Exit(EXIT_PROGRAM)


def warn(message: str, label: str = "warning") -> None:
    errors.print(f"[bold yellow]{label}:[/] {message}", highlight=False, soft_wrap=True)
