"""``maas reference``: the generated reference documents, printed or checked.

``maas reference config > docs/configuration.md`` and ``maas reference policies >
docs/policies.md`` regenerate them; ``--check FILE`` exits 1 when a committed one is stale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="Print the generated reference documents (Markdown), or check a committed one with --check.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help, laid out by maas_platform.cli.MaasGroup
)

CHECK_HELP = "Exit 1 if this file differs from the generated document (CI), instead of printing it."


@app.command("config")
def config(check: Optional[Path] = typer.Option(None, "--check", metavar="PATH", help=CHECK_HELP)) -> None:
    """The configuration reference (docs/configuration.md), generated from the config models."""
    from ..config.reference import REGENERATE, print_or_check, render_reference

    raise typer.Exit(print_or_check(render_reference(), check, REGENERATE))


@app.command("policies")
def policies(check: Optional[Path] = typer.Option(None, "--check", metavar="PATH", help=CHECK_HELP)) -> None:
    """The policy control table (docs/policies.md), generated from the rules' metadata."""
    from ..config.reference import print_or_check
    from ..policy.reference import REGENERATE, render

    raise typer.Exit(print_or_check(render(), check, REGENERATE))
