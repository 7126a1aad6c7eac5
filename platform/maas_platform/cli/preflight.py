"""``maas preflight``: what a fresh account needs before the first ``pulumi up`` of a stack (read-only).

The command orchestrates: it reads the stack's files (config, ``Pulumi.yaml``'s backend, the
stack's secrets provider), identifies the account (so bad credentials fail before a plan is
made), plans the stack offline (or reads ``--plan``), then :mod:`maas_platform.preflight`
reads the account.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from ..config.loader import ConfigError
from .console import EXIT_FAILED, EXIT_OK, console, fail

if TYPE_CHECKING:
    from ..config.models import PlatformConfig
    from ..plan.model import Plan


def preflight(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack to check; reads <stackConfigDir>/Pulumi.<stack>.yaml."),
    config_file: Optional[Path] = typer.Option(
        None, "--config-file", help="Check this stack config file instead (stack name from Pulumi.<stack>.yaml or --stack)."
    ),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="Directory holding Pulumi.yaml."),
    plan_file: Optional[Path] = typer.Option(
        None, "--plan", help="Use this plan JSON (from `maas plan --json`) of the same stack instead of planning."
    ),
    region: Optional[str] = typer.Option(
        None, "--region", help="AWS region to check (default: the stack's maas:region, else AWS_REGION)."
    ),
    endpoint_url: Optional[str] = typer.Option(
        None, "--endpoint-url", help="Send every AWS call to this endpoint (an AWS-compatible server)."
    ),
    backend_url: Optional[str] = typer.Option(
        None, "--backend-url",
        help="State backend to check (default: PULUMI_BACKEND_URL, else backend.url of Pulumi.yaml).",
    ),
    secrets_provider: Optional[str] = typer.Option(
        None, "--secrets-provider",
        help="Secrets provider to check, e.g. awskms://alias/pulumi?region=us-east-1 (default: the stack file's "
             "secretsprovider).",
    ),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the findings as JSON to this path."),
) -> None:
    """Check that an account is ready for the first `pulumi up` of a stack (read-only).

    Plans the stack offline, then reads the account with the standard AWS credential chain:
    the credentials' account against maas:account_id; every role in
    maas:cluster.admin_role_arns and maas:broker.operator_role_arns; the service-linked roles
    the plan's policies name (the Auto Scaling one); the state bucket of an s3:// backend and
    the key of an awskms:// secrets provider; the VPC, internet gateway, Elastic IP and
    per-zone NAT gateway quotas against what the plan adds to what the account has; and
    whether this account may activate cost allocation tags (information: a step of its own).
    One line per finding: blocker, warning, info or ok. It only calls List*, Describe* and
    Get* operations: the IAM policy it needs is docs/preflight-iam-policy.json.

    Exit codes: 0 nothing blocks; 1 something blocks; 2 usage, configuration or credential error.
    """
    from ..preflight.findings import print_report
    from ..preflight.run import open_account
    from ..preflight.run import preflight as run_preflight
    from ..preflight.state import read_state_settings
    from ..verify import aws as verify_aws
    from ..verify.aws import VerifyError

    try:
        stack_name, stack_file, project_file, raw_config = _stack_files(stack, config_file, project_dir)
        settings = read_state_settings(project_file, stack_file, backend_url, secrets_provider)
    except ConfigError as error:
        raise fail(str(error))
    region = region or _config_region(raw_config)
    try:  # the credentials first: they fail in seconds, a plan takes longer
        session = verify_aws.new_session(region)
        region = region or session.region_name
        if not region:
            raise fail("no AWS region: pass --region, set maas:region or AWS_REGION")
        account = open_account(session, region, endpoint_url)
    except VerifyError as error:
        raise fail(str(error))
    try:
        plan = _plan(stack_name, config_file, project_dir, plan_file)
        config = _platform_config(raw_config, stack_file)
    except ConfigError as error:
        raise fail(str(error))
    try:
        report = run_preflight(plan, config, settings, account)
    except VerifyError as error:
        raise fail(str(error))
    if json_path is not None:
        try:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(report.to_json())
        except OSError as error:
            raise fail(f"--json: cannot write {json_path}: {error.strerror or error}")
    print_report(report, console)
    if json_path is not None:
        console.print(f"wrote {json_path}", highlight=False)
    raise typer.Exit(EXIT_FAILED if report.blockers else EXIT_OK)


def _stack_files(stack: Optional[str], config_file: Optional[Path],
                 project_dir: Path) -> tuple[str, Path, Path, dict[str, Any]]:
    """The stack's name, its file, the project's Pulumi.yaml and the stack's config mapping."""
    from ..config.loader import read_stack_file, stack_name_from_file
    from ..plan import Project

    project = Project.load(project_dir)
    if config_file is not None:
        stack = stack or stack_name_from_file(config_file)
        if not stack:
            raise ConfigError(
                f"{config_file}: cannot tell the stack name; name the file Pulumi.<stack>.yaml or pass --stack")
        stack_file = config_file
    elif stack:
        stack_file = project.stack_file(stack)
    else:
        raise ConfigError("name the stack: --stack NAME (reads stacks/Pulumi.NAME.yaml) or --config-file PATH")
    return stack, stack_file, project.root / "Pulumi.yaml", read_stack_file(stack_file)


def _config_region(config: dict[str, Any]) -> Optional[str]:
    value = config.get("maas:region") or config.get("aws:region")
    return value if isinstance(value, str) and value else None


def _plan(stack: str, config_file: Optional[Path], project_dir: Path, plan_file: Optional[Path]) -> "Plan":
    """The stack's plan: read from ``--plan`` (it must be this stack's), else planned offline."""
    if plan_file is None:
        from ..plan import plan_project

        return plan_project(project_dir, stack=stack, config_file=config_file)
    from .verify import _load_plan

    plan = _load_plan(None, None, project_dir, plan_file)
    if plan.stack and plan.stack != stack:
        raise ConfigError(f"--plan: {plan_file} is a plan of stack {plan.stack}, not {stack}")
    return plan


def _platform_config(raw_config: dict[str, Any], stack_file: Path) -> Optional["PlatformConfig"]:
    """The platform stack's validated config; None for a team stack (it sets maas:platform_stack)."""
    if raw_config.get("maas:platform_stack"):
        return None
    from ..config.loader import load_platform_config_file

    return load_platform_config_file(stack_file)
