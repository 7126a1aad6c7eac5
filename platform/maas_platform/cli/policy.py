"""``maas policy-config``: the CrossGuard ``--policy-pack-config`` of a stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..config.loader import ConfigError
from .console import fail


def policy_config(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack whose maas:policy to render."),
    config_file: Optional[Path] = typer.Option(None, "--config-file", help="Read this stack config file instead."),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="Directory holding Pulumi.yaml."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the JSON here instead of standard output."),
    platform_dir: Optional[Path] = typer.Option(
        None, "--platform-dir", help="A team stack: the platform project to plan offline for its policy output.",
    ),
    platform_outputs: Optional[Path] = typer.Option(
        None, "--platform-outputs", help="A team stack: its platform's outputs (pulumi stack output --json).",
    ),
) -> None:
    """Print the CrossGuard --policy-pack-config JSON of a stack, from its maas:policy.

    `pulumi preview --policy-pack policies --policy-pack-config FILE` then enforces what
    `maas plan` enforces for that stack: the same levels, exemptions and minimum log retention.
    A team stack's config is rendered from its platform's policy output, tightened only by its own.
    """
    from ..plan import Project, load_stack_config
    from ..plan.pipeline import platform_outputs_of
    from ..policy.crossguard import policy_pack_config

    try:
        if config_file is None:
            if not stack:
                raise ConfigError("name the stack: --stack NAME (reads stacks/Pulumi.NAME.yaml) or --config-file PATH")
            config_file = Project.load(project_dir).stack_file(stack)
        config, _ = load_stack_config(config_file)
        platform = platform_outputs_of(project_dir, config, str(config_file), platform_dir=platform_dir,
                                       platform_outputs=platform_outputs)
        document = policy_pack_config(config, source=str(config_file),
                                      platform=platform.values if platform is not None else None)
    except ConfigError as error:
        raise fail(str(error))
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
