"""``maas scan-gate``: the release pipeline's vulnerability gate on one pushed image.

Waits, within ``--timeout``, until Amazon ECR has scanned the image ``--repository@--digest``
(enhanced scanning by Amazon Inspector, or basic scanning) and blocks the release when the scan
lists a finding at or above ``--fail-on``. It reads ``ecr:DescribeImageScanFindings`` and nothing
else (the agent's CI role needs that action on its repository).

The API, as read on 2026-12-03 in botocore 1.44.8's ecr service model (``service-2.json``,
``paginators-1.json``, ``waiters-2.json``) and the Amazon ECR API reference (ImageScanStatus,
ImageScanFindings, EnhancedImageScanFinding, DescribeImageScanFindings; the SDK for Ruby's
ImageScanStatus page for what each status means):

* ``imageScanStatus.status`` is one of IN_PROGRESS, COMPLETE, FAILED, UNSUPPORTED_IMAGE, ACTIVE,
  PENDING, SCAN_ELIGIBILITY_EXPIRED, FINDINGS_UNAVAILABLE, LIMIT_EXCEEDED, IMAGE_ARCHIVED,
  IMAGE_SIZE_EXCEEDED. ACTIVE (enhanced: scanned, findings kept up to date) and COMPLETE (basic,
  or an enhanced on-push scan) have findings to judge; PENDING and IN_PROGRESS are waited for;
  every other status means no judgement is possible (exit 3). Before the first scan exists the
  call fails with ``ScanNotFoundException``, which is waited for too.
* ``imageScanFindings.enhancedFindings[]`` carry ``severity`` (Inspector's: INFORMATIONAL, LOW,
  MEDIUM, HIGH, CRITICAL, UNTRIAGED), ``status`` (ACTIVE, SUPPRESSED, CLOSED: Inspector hides
  suppressed findings from view and closes remediated ones, docs.aws.amazon.com/inspector
  "Suppressing Amazon Inspector findings") and ``packageVulnerabilityDetails.vulnerabilityId``
  (the CVE); basic scanning's ``findings[]`` carry ``name`` (the CVE) and ``severity``.
  ``findingSeverityCounts`` maps a severity to a count.
* Results come 100 to a page unless ``maxResults`` (1 to 1000) says otherwise, with a
  ``nextToken`` for the next page; the status and counts are on every page.

A gate that cannot read must not pass: a scan that failed, an image it cannot scan, a time-out,
credentials or permissions that do not let the call through, and an answer whose counts name
findings at the threshold that its list does not show all exit 3, as ``maas error-budget`` does.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Optional

import typer
from rich.markup import escape

from .console import EXIT_FAILED, EXIT_OK, console, errors, fail

# Cannot tell: the same number as ``maas error-budget``'s (console.EXIT_PROGRAM).
EXIT_UNKNOWN = 3
DOCS = "docs/delivery.md"
ACTION = "ecr:DescribeImageScanFindings"
# Inspector's severities from the least to the most severe; UNTRIAGED and UNDEFINED have no rank
# and never block (they are counted and shown).
SEVERITIES: tuple[str, ...] = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
FAIL_ON: tuple[str, ...] = ("CRITICAL", "HIGH")
DONE = frozenset({"COMPLETE", "ACTIVE"})
WAITING = frozenset({"PENDING", "IN_PROGRESS"})
# Findings that no longer count: hidden by a suppression rule, or remediated.
NOT_COUNTED = frozenset({"SUPPRESSED", "CLOSED"})
PAGE_SIZE = 1000
MAX_PAGES = 100
DEFAULT_TIMEOUT, MAX_TIMEOUT = 900.0, 3600.0
DEFAULT_INTERVAL = 15.0
# Named in the one-line verdict; more are counted.
MAX_NAMED = 20
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# ECR's repository names (CreateRepository's repositoryName pattern in the service model).
REPOSITORY = re.compile(r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
REGISTRY_ID = re.compile(r"^\d{12}$")

# The clock and the pause between reads (tests replace them).
clock = time.monotonic
sleep = time.sleep


class Unreadable(Exception):
    """The scan cannot be judged (exit 3)."""


@dataclass(frozen=True)
class Finding:
    """One vulnerability the scan lists: its id (a CVE), severity, status and package."""

    vulnerability: str
    severity: str
    status: str = "ACTIVE"
    package: str = ""

    def at_or_above(self, threshold: str) -> bool:
        return self.severity in SEVERITIES and SEVERITIES.index(self.severity) >= SEVERITIES.index(threshold)

    @property
    def counted(self) -> bool:
        return self.status not in NOT_COUNTED

    def to_dict(self) -> dict[str, str]:
        return {"vulnerability": self.vulnerability, "severity": self.severity, "status": self.status,
                "package": self.package}


@dataclass
class Scan:
    """What the scan says of one image."""

    repository: str
    digest: str
    fail_on: str
    status: str = ""
    description: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    error: Optional[str] = None

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.counted and f.at_or_above(self.fail_on)]

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "unknown"
        return "blocked" if self.blocking else "pass"

    @property
    def exit_code(self) -> int:
        return {"unknown": EXIT_UNKNOWN, "blocked": EXIT_FAILED}.get(self.verdict, EXIT_OK)

    @property
    def image(self) -> str:
        return f"{self.repository}@{self.digest}"

    def to_json(self) -> str:
        document = {
            "repository": self.repository, "digest": self.digest, "fail_on": self.fail_on, "status": self.status,
            "verdict": self.verdict, "exit_code": self.exit_code, "counts": self.counts,
            "blocking": [f.to_dict() for f in self.blocking], "findings": len(self.findings), "error": self.error,
        }
        return json.dumps(document, indent=2) + "\n"


def scan_gate(
    repository: str = typer.Option(..., "--repository", help="The ECR repository, e.g. maas-prod/triage."),
    digest: str = typer.Option(..., "--digest", help="The image's digest, sha256:<64 hex> (what the push printed)."),
    region: str = typer.Option(..., "--region", help="The repository's region, e.g. us-east-1."),
    fail_on: str = typer.Option(
        "CRITICAL", "--fail-on", metavar="SEVERITY",
        help="Block on findings of this severity or worse: CRITICAL (the default) or HIGH."),
    registry_id: Optional[str] = typer.Option(
        None, "--registry-id", metavar="ACCOUNT", help="The registry's account (default: the caller's)."),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--timeout", help=f"Seconds to wait for the scan (at most {MAX_TIMEOUT:g})."),
    interval: float = typer.Option(DEFAULT_INTERVAL, "--interval", help="Seconds between reads while the scan runs."),
    endpoint_url: Optional[str] = typer.Option(
        None, "--endpoint-url", help="Send the calls to this endpoint (an AWS-compatible server)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Gate a release on its image's vulnerability scan.

    Waits until Amazon ECR has scanned the image (Inspector's enhanced scanning or basic
    scanning) and fails when the scan lists a finding at or above --fail-on; suppressed and
    closed findings do not count. Reads ecr:DescribeImageScanFindings with the standard
    credential chain (in the pipeline: the agent's CI role).

    Exit codes:

    \b
    0  scanned, nothing at or above --fail-on
    1  blocked: findings at or above --fail-on (named on stderr)
    2  usage: bad option
    3  cannot tell: the scan failed, the image is unsupported or no
       longer eligible, the scan did not finish within --timeout,
       or the call was refused (credentials, permissions, no such image)
    """
    fail_on = fail_on.upper()
    if fail_on not in FAIL_ON:
        raise fail(f"--fail-on: {fail_on!r} is not one of {', '.join(FAIL_ON)}")
    if not DIGEST.match(digest):
        raise fail(f"--digest: {digest!r} is not sha256:<64 lowercase hex digits>; pass the digest the push printed")
    if not REPOSITORY.match(repository):
        raise fail(f"--repository: {repository!r} is not an ECR repository name, e.g. maas-prod/triage")
    if not REGION.match(region):
        raise fail(f"--region: {region!r} is not an AWS region, e.g. us-east-1")
    if registry_id is not None and not REGISTRY_ID.match(registry_id):
        raise fail(f"--registry-id: {registry_id!r} is not a 12-digit account id")
    if not (1 <= timeout <= MAX_TIMEOUT):
        raise fail(f"--timeout: {timeout:g} is not between 1 and {MAX_TIMEOUT:g} seconds")
    if not (1 <= interval <= 300):
        raise fail(f"--interval: {interval:g} is not between 1 and 300 seconds")

    scan = Scan(repository=repository, digest=digest, fail_on=fail_on)
    try:
        client = ecr_client(region, endpoint_url)
        wait_for_scan(scan, client, registry_id, timeout, interval)
    except Unreadable as error:
        scan.error = str(error)
    if as_json:
        console.out(scan.to_json(), end="", highlight=False)
    say_verdict(scan)
    raise typer.Exit(scan.exit_code)


def ecr_client(region: str, endpoint_url: Optional[str]) -> Any:
    """An ECR client with bounded calls: a few retries with backoff, short time-outs (boto3 is
    imported here: ``maas --help`` stays fast)."""
    import boto3
    from botocore.config import Config

    config = Config(region_name=region, retries={"mode": "standard", "max_attempts": 5},
                    connect_timeout=5, read_timeout=30)
    return boto3.Session(region_name=region).client("ecr", endpoint_url=endpoint_url, config=config)


def wait_for_scan(scan: Scan, client: Any, registry_id: Optional[str], timeout: float, interval: float) -> None:
    """Read the scan until it is done, then fill ``scan``; :class:`Unreadable` when it cannot be judged."""
    deadline = clock() + timeout
    while True:
        pages = read_pages(scan, client, registry_id)
        if pages is not None:
            judge(scan, pages)
            return
        remaining = deadline - clock()
        if remaining <= 0:
            state = scan.status or "no scan yet"
            raise Unreadable(f"the scan of {scan.image} did not finish within {timeout:g}s ({state}); is scanning on "
                             "push turned on for the repository? (maas:delivery.registry_scanning)")
        sleep(min(interval, remaining))


def read_pages(scan: Scan, client: Any, registry_id: Optional[str]) -> Optional[list[dict[str, Any]]]:
    """Every page of the findings once the scan is done; None while it is pending or not started."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    request: dict[str, Any] = {"repositoryName": scan.repository, "imageId": {"imageDigest": scan.digest},
                               "maxResults": PAGE_SIZE}
    if registry_id:
        request["registryId"] = registry_id
    pages: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        while True:
            page = client.describe_image_scan_findings(**request)
            status = page.get("imageScanStatus") or {}
            scan.status = str(status.get("status") or "")
            scan.description = str(status.get("description") or "")
            if scan.status in WAITING:
                return None
            if scan.status not in DONE:
                detail = f": {scan.description}" if scan.description else ""
                raise Unreadable(f"the scan of {scan.image} is {scan.status or 'without a status'}{detail}")
            pages.append(page)
            token = page.get("nextToken")
            if not token:
                return pages
            if token in seen or len(pages) >= MAX_PAGES:
                raise Unreadable(f"the findings of {scan.image} do not end: page {len(pages)} repeats a nextToken "
                                 f"or passes {MAX_PAGES} pages")
            seen.add(token)
            request["nextToken"] = token
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ScanNotFoundException":
            scan.status = ""
            return None
        message = error.response.get("Error", {}).get("Message", "")
        hint = f"; the caller needs {ACTION} on the repository" if code in (
            "AccessDeniedException", "AccessDenied", "UnrecognizedClientException") else ""
        raise Unreadable(f"{ACTION} on {scan.image} answered {code}: {message}{hint}") from None
    except NoCredentialsError:
        raise Unreadable(f"no AWS credentials to call {ACTION} (in the pipeline: configure-aws-credentials with the "
                         "agent's CI role)") from None
    except BotoCoreError as error:
        raise Unreadable(f"{ACTION} on {scan.image} failed: {error}") from None


def judge(scan: Scan, pages: list[dict[str, Any]]) -> None:
    """Fill the findings and counts of a finished scan from its pages."""
    counts: dict[str, int] = {}
    for page in pages:
        found = page.get("imageScanFindings") or {}
        counts = {str(k): int(v) for k, v in (found.get("findingSeverityCounts") or {}).items()} or counts
        scan.findings.extend(_enhanced(item) for item in found.get("enhancedFindings") or [])
        scan.findings.extend(Finding(str(item.get("name") or "?"), str(item.get("severity") or "UNDEFINED"))
                             for item in found.get("findings") or [])
    scan.counts = counts
    counted = sum(n for severity, n in counts.items()
                  if severity in SEVERITIES and SEVERITIES.index(severity) >= SEVERITIES.index(scan.fail_on))
    listed = [f for f in scan.findings if f.at_or_above(scan.fail_on)]
    if counted and not listed:
        raise Unreadable(f"the scan of {scan.image} counts {counted} findings at or above {scan.fail_on} but lists "
                         "none of them")


def _enhanced(item: dict[str, Any]) -> Finding:
    details = item.get("packageVulnerabilityDetails") or {}
    packages = details.get("vulnerablePackages") or []
    package = ""
    if packages and isinstance(packages[0], dict):
        package = " ".join(str(packages[0].get(k)) for k in ("name", "version") if packages[0].get(k))
    vulnerability = details.get("vulnerabilityId") or item.get("title") or item.get("findingArn") or "?"
    return Finding(str(vulnerability), str(item.get("severity") or "UNDEFINED"), str(item.get("status") or "ACTIVE"),
                   package)


def say_verdict(scan: Scan) -> None:
    """One line on stderr, where a pipeline log shows it whatever the output form."""
    if scan.error is not None:
        errors.print(f"[bold red]error:[/] {escape(scan.error)}", highlight=False, soft_wrap=True)
        return
    blocking = scan.blocking
    if blocking:
        ids = sorted({f.vulnerability for f in blocking}, key=lambda v: (
            -max(SEVERITIES.index(f.severity) for f in blocking if f.vulnerability == v), v))
        named = ", ".join(ids[:MAX_NAMED]) + (f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else "")
        errors.print(f"[bold red]blocked:[/] {escape(scan.image)} has {len(blocking)} findings at or above "
                     f"{scan.fail_on} ({escape(named)}); fix them and push again, or suppress a finding that does "
                     f"not apply in Amazon Inspector ({DOCS}).", highlight=False, soft_wrap=True)
        return
    shown = ", ".join(f"{n} {s}" for s, n in sorted(scan.counts.items()) if n) or "no findings"
    errors.print(f"[green]pass:[/] {escape(scan.image)} scanned ({scan.status}): {escape(shown)}; nothing at or "
                 f"above {scan.fail_on}", highlight=False, soft_wrap=True)
