"""Preflight a stack: the account first (it fails fast on credentials), then every check against the plan."""

from __future__ import annotations

from typing import Optional

import boto3

from ..config.models import PlatformConfig
from ..plan.model import Plan
from .account import PreflightAccount
from .billing import cost_allocation_findings
from .findings import Report
from .quotas import quota_findings
from .roles import account_findings, named_roles, role_findings, service_linked_role_findings
from .state import StateSettings, backend_findings, secrets_provider_findings


def open_account(session: boto3.Session, region: str, endpoint_url: Optional[str] = None) -> PreflightAccount:
    """The account the credentials reach, identified (``sts:GetCallerIdentity``).

    Raises :class:`~maas_platform.verify.aws.VerifyError` on missing or rejected credentials
    or an unreachable endpoint, before anything is planned.
    """
    account = PreflightAccount(session, region=region, endpoint_url=endpoint_url, workers=1)
    account.identify()
    return account


def preflight(plan: Plan, config: Optional[PlatformConfig], settings: StateSettings,
              account: PreflightAccount) -> Report:
    """Every check, in the order a person fixes them.

    ``config`` is the platform stack's validated config, or None for a team stack (its roles
    are the platform's, checked with the platform stack).
    """
    findings = account_findings(config, account.account_id)
    findings += role_findings(named_roles(config), account)
    findings += service_linked_role_findings(plan, account)
    findings += backend_findings(settings, account)
    findings += secrets_provider_findings(settings, account)
    findings += quota_findings(plan, account)
    findings += cost_allocation_findings(plan, account)
    return Report(project=plan.project, stack=plan.stack, account=account.account_id, region=account.region,
                  endpoint_url=account.endpoint_url, findings=findings)
