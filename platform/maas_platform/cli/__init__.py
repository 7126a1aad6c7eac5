"""``maas``: the platform's command line.

One module per command group, all printing to the console of :mod:`.console`:
:mod:`.plan` (``maas plan``), :mod:`.preflight` (``maas preflight``), :mod:`.verify`
(``maas verify``), :mod:`.policy` (``maas policy-config``), :mod:`.error_budget`
(``maas error-budget``), :mod:`.scan_gate` (``maas scan-gate``), :mod:`.release_pin`
(``maas release-pin``) and :mod:`.reference`
(``maas reference config|policies``).
A command module imports what it runs when it runs, so ``maas --help`` stays fast.

Help is plain text wrapped to the terminal (``COLUMNS``, at most 120 columns), never cutting a
word (``--platform-outputs`` stays whole): :class:`MaasGroup` gives every command of the tree the
same help options (``-h``, ``--help``), formatter and metavars (``PATH`` for paths, ``N`` for
numbers, the option's last word for text, none for flags), so a command added later gets them too.
"""

from __future__ import annotations

import textwrap
from importlib import metadata
from pathlib import PurePath
from typing import Any, Optional

import typer
from typer.core import TyperGroup

from . import diff, error_budget, plan, policy, preflight, reference, release_pin, scan_gate, verify

DISTRIBUTION = "maas-platform"
# Help is wrapped to the terminal's width up to this many columns (click: min(COLUMNS, this) - 2).
HELP_WIDTH = 120
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH}


def _wrap(text: str, width: int, first: str = "", rest: str = "") -> list[str]:
    """Lines of ``text`` filled to ``width``, breaking only at spaces: a word longer than the
    line keeps its own line whole rather than being cut."""
    wrapper = textwrap.TextWrapper(width=max(width, 10), initial_indent=first, subsequent_indent=rest,
                                   break_on_hyphens=False, break_long_words=False)
    return wrapper.wrap(" ".join(text.split())) or [first.rstrip()]


class _Formatter(typer.Context.formatter_class):  # type: ignore[misc, name-defined]
    """Click's help layout with words kept whole: its own wrapping breaks after hyphens."""

    def write_usage(self, prog: str, args: str = "", prefix: Optional[str] = None) -> None:
        head = f"{'':>{self.current_indent}}{prefix if prefix is not None else 'Usage: '}{prog} "
        self.write("\n".join(_wrap(args, self.width, head, " " * len(head))) + "\n")

    def write_text(self, text: str) -> None:
        """Paragraphs separated by a blank line are filled; one that opens with a ``\\b`` line is
        kept as written (the exit-code tables)."""
        indent = " " * self.current_indent
        paragraphs = []
        for block in textwrap.dedent(text).strip("\n").split("\n\n"):
            lines = block.splitlines()
            if lines and lines[0].strip() == "\b":
                paragraphs.append("\n".join(indent + line for line in lines[1:]))
            else:
                paragraphs.append("\n".join(_wrap(block, self.width, indent, indent)))
        self.write("\n\n".join(paragraphs) + "\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(str(row[0]), str(row[1]) if len(row) > 1 else "") for row in rows]
        term_width = min(max((len(term) for term, _ in rows), default=0), col_max)
        column = self.current_indent + term_width + col_spacing
        for term, text in rows:
            head = f"{'':>{self.current_indent}}{term}"
            if not text:
                self.write(head + "\n")
                continue
            if len(head) + col_spacing > column:
                self.write(head + "\n")
                head = ""
            lines = _wrap(text, self.width, head.ljust(column), " " * column)
            self.write("\n".join(lines) + "\n")


class _Context(typer.Context):
    formatter_class = _Formatter


def _metavar(option: Any) -> Optional[str]:
    """``PATH``, ``N`` or the option's last word (``--endpoint-url`` -> ``URL``); None for flags."""
    if getattr(option, "is_flag", False) or getattr(option, "count", False):
        return None
    kind = _kind(option)
    if kind in {"path", "file", "filename"}:
        return "PATH"
    if kind.startswith(("int", "float")):
        return "N"
    longest = max((name for name in option.opts if name.startswith("--")), key=len, default=option.name or "value")
    return longest.lstrip("-").rsplit("-", 1)[-1].upper()


def _kind(option: Any) -> str:
    """The option's value type, lower case: typer 0.29 keeps the annotation (``type_descriptor``),
    earlier releases a click type (``type.name``)."""
    descriptor = getattr(option, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if isinstance(annotation, type):
        return "path" if issubclass(annotation, PurePath) else annotation.__name__.lower()
    return str(getattr(getattr(option, "type", None), "name", "")).lower()


def _tidy(command: Any) -> Any:
    """Give ``command`` and everything under it the help layout and metavars (idempotent)."""
    command.context_class = _Context
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option" and not param.metavar:
            param.metavar = _metavar(param)
    for child in getattr(command, "commands", {}).values():
        _tidy(child)
    return command


class MaasGroup(TyperGroup):
    """The ``maas`` command group: every command it hands out gets :func:`_tidy`'s layout."""

    context_class = _Context

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        return _tidy(command) if command is not None else None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _tidy(self)
        super().format_help(ctx, formatter)


def version() -> str:
    """The installed distribution's version (``pyproject.toml``'s ``version``)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"maas {version()}")
        raise typer.Exit()


app = typer.Typer(
    cls=MaasGroup,
    help="Multi-Agent-as-a-Service platform: plan environments and team stacks offline "
         "(deploy them with `pulumi up`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT_SETTINGS,
)


@app.callback()
def main(
    show_version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                      help="Print the version of maas and exit."),
) -> None:
    """Multi-Agent-as-a-Service platform."""


app.command("plan")(plan.plan)
app.command("diff")(diff.diff)
app.command("verify")(verify.verify)
app.command("preflight")(preflight.preflight)
app.command("policy-config")(policy.policy_config)
app.command("error-budget")(error_budget.error_budget)
app.command("scan-gate")(scan_gate.scan_gate)
app.command("release-pin")(release_pin.release_pin)
app.add_typer(reference.app, name="reference")

__all__ = ["app", "version"]
