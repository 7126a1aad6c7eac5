"""``maas``: the platform's command line.

One module per command group, all printing to the console of :mod:`.console`:
:mod:`.plan` (``maas plan``), :mod:`.preflight` (``maas preflight``), :mod:`.verify`
(``maas verify``), :mod:`.policy` (``maas policy-config``) and :mod:`.reference`
(``maas reference config|policies``).
A command module imports what it runs when it runs, so ``maas --help`` stays fast.
"""

from __future__ import annotations

import typer

from . import plan, policy, preflight, reference, verify

app = typer.Typer(
    help="Multi-Agent-as-a-Service platform: plan environments and team stacks offline (deploy them with `pulumi up`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Multi-Agent-as-a-Service platform."""


app.command("plan")(plan.plan)
app.command("verify")(verify.verify)
app.command("preflight")(preflight.preflight)
app.command("policy-config")(policy.policy_config)
app.add_typer(reference.app, name="reference")

__all__ = ["app"]
