"""The ``maas verify`` command."""

from __future__ import annotations

import typer


def verify(stack: str = typer.Option(..., "--stack", "-s", help="Stack to verify.")) -> None:
    """Check the live account against the offline plan of the stack."""
    raise typer.Exit(2)
