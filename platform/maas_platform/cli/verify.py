"""``maas verify``: check the live account against a plan (read-only).

The command orchestrates: the plan comes from ``--plan`` (a plan JSON) or from planning the
stack offline, then :mod:`maas_platform.verify` reads the account and compares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from ..config.loader import ConfigError
from ..plan.model import Plan
from .console import EXIT_FAILED, EXIT_OK, console, fail


def verify(
    stack: Optional[str] = typer.Option(None, "--stack", "-s", help="Stack to verify; plans <stackConfigDir>/Pulumi.<stack>.yaml offline."),
    config_file: Optional[Path] = typer.Option(
        None, "--config-file", help="Plan this stack config file instead (stack name from Pulumi.<stack>.yaml or --stack)."
    ),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="Directory holding Pulumi.yaml."),
    plan_file: Optional[Path] = typer.Option(
        None, "--plan", help="Verify against this plan JSON (from `maas plan --json`) instead of planning."
    ),
    region: Optional[str] = typer.Option(
        None, "--region", help="AWS region to read (default: the stack's maas:region, else AWS_REGION)."
    ),
    endpoint_url: Optional[str] = typer.Option(
        None, "--endpoint-url", help="Send every AWS call to this endpoint (an AWS-compatible server)."
    ),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON to this path."),
    workers: int = typer.Option(8, "--workers", min=1, max=64, help="Resources checked in parallel."),
) -> None:
    """Check the live AWS account against the offline plan of a stack (read-only).

    Plans the stack offline to know what should exist, then reads the account with the
    standard AWS credential chain and checks, per agent and for the platform: KMS keys
    (by alias: enabled, rotation, tags), DynamoDB tables (point-in-time recovery, the
    agent's key, tags), SQS queues (dead-letter queue, key, tags), Secrets Manager secrets
    (the agent's key, tags), budgets (limit, cost filters, notifications), the EKS
    cluster (endpoint access, control-plane logging, secrets encryption, version, tags),
    S3 buckets (SSE-KMS under the planned key, public access block, versioning, tags),
    CloudWatch log groups (retention, key, tags), SNS topics (key, tags) and Aurora
    clusters (storage encryption and key, deletion protection, backup retention, tags).
    It only calls List*, Describe* and Get* operations: the IAM policy it needs is
    docs/verify-iam-policy.json.

    Exit codes: 0 everything holds; 1 drift; 2 usage, configuration or credential error.
    """
    from ..verify.aws import VerifyError, new_session
    from ..verify.expect import plan_region
    from ..verify.report import print_report
    from ..verify.run import verify_plan

    try:  # before planning: missing credentials are found in a second, a plan takes longer
        require_credentials(new_session(region))
    except VerifyError as error:
        raise fail(str(error))
    try:
        plan = _load_plan(stack, config_file, project_dir, plan_file)
    except ConfigError as error:
        raise fail(str(error))
    region = region or plan_region(plan)
    try:
        session = new_session(region)
        region = region or session.region_name
        if not region:
            raise fail("no AWS region: pass --region or set AWS_REGION")
        report = verify_plan(plan, session, region=region, endpoint_url=endpoint_url, workers=workers)
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
    raise typer.Exit(EXIT_FAILED if report.drift else EXIT_OK)


def require_credentials(session: Any) -> None:
    """Stop unless the session's standard credential chain resolves credentials.

    Resolution is local (environment, profile, SSO cache, container or instance role): no AWS
    call is made, so with ``--endpoint-url`` any credentials the chain finds count, as an
    AWS-compatible test server (moto) accepts them. ``get_credentials()`` answers None when no
    provider of the chain finds any (botocore 1.44.8 ``CredentialResolver.load_credentials``,
    read 2026-12-03); a profile that cannot be read raises a ``BotoCoreError``.
    """
    from botocore.exceptions import BotoCoreError

    from ..verify.aws import VerifyError

    try:
        credentials = session.get_credentials()
    except BotoCoreError as error:
        raise VerifyError(f"AWS credentials cannot be read: {error}") from None
    if credentials is None:
        raise VerifyError("no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                          "(the standard AWS credential chain), then run maas verify again")


def _load_plan(stack: Optional[str], config_file: Optional[Path], project_dir: Path, plan_file: Optional[Path]) -> Plan:
    """The plan to verify against: read from ``--plan``, else planned offline like ``maas plan``."""
    if plan_file is None:
        from ..plan import plan_project

        return plan_project(project_dir, stack=stack, config_file=config_file)
    if stack or config_file:
        raise ConfigError("--plan: give either a plan file or a stack (--stack/--config-file), not both")
    try:
        document = json.loads(plan_file.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--plan: file not found: {plan_file}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"--plan: {plan_file} is not a plan JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("resources"), list):
        raise ConfigError(f"--plan: {plan_file} is not a plan JSON (no 'resources' list); write one with maas plan --json")
    try:
        return Plan.from_dict(document)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"--plan: {plan_file} is not a plan JSON (a resource cannot be read: "
                          f"{type(error).__name__} {error})") from None
