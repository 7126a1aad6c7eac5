"""Verify a plan against an account: every planned resource of a checked kind, concurrently."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import boto3

from ..plan.model import Plan
from .aws import Account
from .checks import CHECKS, Finding
from .expect import Expectations, expectations
from .report import Report

DEFAULT_WORKERS = 8


def verify_plan(
    plan: Plan,
    session: boto3.Session,
    region: str,
    endpoint_url: Optional[str] = None,
    workers: int = DEFAULT_WORKERS,
    page_size: Optional[int] = None,
) -> Report:
    """Read the account and compare it with ``plan``.

    Raises :class:`~maas_platform.verify.aws.VerifyError` when the account cannot be read
    (the first call checks the credentials). ``page_size`` overrides the page size of every
    list call (the service default otherwise).
    """
    started = time.perf_counter()
    account = Account(session, region=region, endpoint_url=endpoint_url, workers=workers, page_size=page_size)
    account_id = account.identify()
    expected = expectations(plan, account_id)
    account.name_prefixes = {"sqs": expected.prefix("sqs-queue"), "secretsmanager": expected.prefix("secret"),
                             "s3": expected.prefix("s3-bucket")}
    account.log_group_prefixes = expected.prefixes("log-group")
    findings = _run_checks(expected, account, workers)
    return Report(
        project=plan.project,
        stack=plan.stack,
        account=account_id,
        region=region,
        endpoint_url=endpoint_url,
        findings=findings,
        unmatched=expected.unmatched,
        elapsed=time.perf_counter() - started,
    )


def _run_checks(expected: Expectations, account: Account, workers: int) -> list[Finding]:
    """Each resource's check on a thread pool; results in the plan's order, whatever finishes first."""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="maas-verify") as pool:
        futures = [pool.submit(CHECKS[item.kind], item, account) for item in expected.items]
        try:
            return [f for future in futures for f in future.result()]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
