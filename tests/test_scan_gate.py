"""``maas scan-gate``: a release waits for its image's scan and stops on serious findings.

The wiring (credentials, region, the image by digest, ScanNotFoundException while no scan exists,
the time-out) runs against moto in server mode over HTTP. moto 5.2.5 answers
DescribeImageScanFindings with a response set through its API (``/moto-api/static/ecr/
scan-finding-results``), the same one for every call of an image id (moto/ecr/models.py), so it
serves enhanced findings and any status, but not a scan that progresses nor a second page: those
are answered by botocore's Stubber, which checks each response against the ecr service model.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Optional

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from maas_platform.cli import app, scan_gate
from test_verify import credentials, endpoint, reset  # noqa: F401  (pytest fixtures are found by name)

REPOSITORY = "maas-prod/triage"
REGION = "us-west-2"
ACCOUNT = "123456789012"
# A config blob's digest: what moto files the pushed manifest under is read from its answer.
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
               "digest": "sha256:" + "c" * 64},
    "layers": [],
})


def enhanced(cve: str, severity: str, status: str = "ACTIVE", package: str = "openssl") -> dict[str, Any]:
    """An enhanced finding as the ECR API reference's EnhancedImageScanFinding describes it."""
    return {
        "awsAccountId": ACCOUNT, "severity": severity, "status": status, "title": f"{cve} - {package}",
        "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{cve.lower()}", "type": "PACKAGE_VULNERABILITY",
        "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "NVD",
                                        "vulnerablePackages": [{"name": package, "version": "3.0.1"}]},
    }


def answer(digest: str, status: str, findings: list[dict[str, Any]] = (), counts: Optional[dict[str, int]] = None,
           next_token: Optional[str] = None) -> dict[str, Any]:
    """A DescribeImageScanFindings response for ``digest``."""
    if counts is None:
        counts = {}
        for finding in findings:
            counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    document: dict[str, Any] = {
        "registryId": ACCOUNT, "repositoryName": REPOSITORY, "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": status, "description": f"the scan is {status.lower()}"},
    }
    if status in scan_gate.DONE:
        document["imageScanFindings"] = {"findingSeverityCounts": counts, "enhancedFindings": list(findings)}
    if next_token:
        document["nextToken"] = next_token
    return document


# -- against moto --------------------------------------------------------------------------------


@pytest.fixture
def pushed(endpoint) -> str:  # noqa: F811
    """An image pushed to the agent's repository in REGION (scan on push), by its digest."""
    reset(endpoint)
    ecr = boto3.client("ecr", region_name=REGION, endpoint_url=endpoint)
    ecr.create_repository(repositoryName=REPOSITORY, imageScanningConfiguration={"scanOnPush": True})
    return ecr.put_image(repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag="1.4.2")["image"]["imageId"][
        "imageDigest"]


def scanned(endpoint: str, digest: str, result: dict[str, Any]) -> None:  # noqa: F811
    """The scan of ``digest`` exists and answers ``result``."""
    boto3.client("ecr", region_name=REGION, endpoint_url=endpoint).start_image_scan(
        repositoryName=REPOSITORY, imageId={"imageDigest": digest})
    body = json.dumps({"results": [result], "region": REGION}).encode()
    request = urllib.request.Request(f"{endpoint}/moto-api/static/ecr/scan-finding-results", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def gate(endpoint: str, digest: str, *extra: str, region: str = REGION):  # noqa: F811
    return CliRunner().invoke(app, ["scan-gate", "--repository", REPOSITORY, "--digest", digest, "--region", region,
                                    "--endpoint-url", endpoint, "--timeout", "30", "--interval", "1", *extra])


@pytest.fixture
def fake_time(monkeypatch) -> list[float]:
    """A clock that only the gate's pauses move; returns the pauses taken."""
    now = [0.0]
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(scan_gate, "clock", lambda: now[0])
    monkeypatch.setattr(scan_gate, "sleep", pause)
    return pauses


def test_a_critical_finding_blocks_naming_the_cve(endpoint, pushed):
    scanned(endpoint, pushed, answer(pushed, "ACTIVE", [enhanced("CVE-2024-0001", "CRITICAL"),
                                                        enhanced("CVE-2024-0002", "HIGH", package="zlib")]))
    result = gate(endpoint, pushed)
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("blocked:") and "CVE-2024-0001" in line and "CVE-2024-0002" not in line
    assert f"{REPOSITORY}@{pushed}" in line


def test_high_findings_pass_by_default_and_block_with_fail_on_high(endpoint, pushed):
    scanned(endpoint, pushed, answer(pushed, "COMPLETE", [enhanced("CVE-2024-0002", "HIGH"),
                                                          enhanced("CVE-2024-0003", "MEDIUM")]))
    passed = gate(endpoint, pushed)
    assert passed.exit_code == 0, passed.output
    assert "1 HIGH" in passed.stderr and "nothing at or above CRITICAL" in passed.stderr
    blocked = gate(endpoint, pushed, "--fail-on", "HIGH")
    assert blocked.exit_code == 1 and "CVE-2024-0002" in blocked.stderr and "CVE-2024-0003" not in blocked.stderr


def test_suppressed_and_closed_findings_do_not_count(endpoint, pushed):
    scanned(endpoint, pushed, answer(pushed, "ACTIVE", [enhanced("CVE-2024-0001", "CRITICAL", status="SUPPRESSED"),
                                                        enhanced("CVE-2024-0004", "CRITICAL", status="CLOSED")]))
    result = gate(endpoint, pushed)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("status", ["UNSUPPORTED_IMAGE", "SCAN_ELIGIBILITY_EXPIRED", "FINDINGS_UNAVAILABLE", "FAILED"])
def test_a_scan_that_cannot_judge_the_image_is_cannot_tell(endpoint, pushed, status):
    scanned(endpoint, pushed, answer(pushed, status))
    result = gate(endpoint, pushed)
    assert result.exit_code == 3, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error:") and status in line


def test_no_scan_within_the_timeout_is_cannot_tell(endpoint, pushed, fake_time):
    """Scanning on push that never starts (ScanNotFoundException on every read) times out."""
    result = gate(endpoint, pushed, "--timeout", "60", "--interval", "15")
    assert result.exit_code == 3, result.output
    assert "did not finish within 60s" in result.stderr
    assert fake_time == [15, 15, 15, 15]


def test_the_region_and_the_digest_are_the_ones_asked(endpoint, pushed):
    scanned(endpoint, pushed, answer(pushed, "ACTIVE", [enhanced("CVE-2024-0001", "CRITICAL")]))
    elsewhere = gate(endpoint, pushed, region="us-east-1")
    assert elsewhere.exit_code == 3 and "RepositoryNotFoundException" in elsewhere.stderr
    other = gate(endpoint, "sha256:" + "0" * 64)
    assert other.exit_code == 3 and "ImageNotFoundException" in other.stderr


def test_no_credentials_is_cannot_tell_and_names_the_fix(endpoint, pushed, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = gate(endpoint, pushed)
    assert result.exit_code == 3, result.output
    assert "no AWS credentials" in result.stderr


def test_json_names_the_blocking_findings(endpoint, pushed):
    scanned(endpoint, pushed, answer(pushed, "ACTIVE", [enhanced("CVE-2024-0001", "CRITICAL")]))
    result = gate(endpoint, pushed, "--json")
    document = json.loads(result.stdout)
    assert document["verdict"] == "blocked" and document["exit_code"] == 1
    assert document["blocking"] == [{"vulnerability": "CVE-2024-0001", "severity": "CRITICAL", "status": "ACTIVE",
                                     "package": "openssl 3.0.1"}]


@pytest.mark.parametrize("args, named", [
    (["--digest", "latest"], "--digest"),
    (["--digest", "sha256:" + "A" * 64], "--digest"),
    (["--fail-on", "MEDIUM"], "--fail-on"),
    (["--region", "us east"], "--region"),
    (["--repository", "Maas/Triage"], "--repository"),
    (["--timeout", "0"], "--timeout"),
])
def test_usage_mistakes_exit_2_naming_the_option(args, named):
    base = {"--repository": REPOSITORY, "--digest": "sha256:" + "a" * 64, "--region": REGION}
    for option, value in zip(args[::2], args[1::2]):
        base[option] = value
    result = CliRunner().invoke(app, ["scan-gate", *[x for pair in base.items() for x in pair]])
    assert result.exit_code == 2 and named in result.stderr, result.output


# -- real response shapes, answered by botocore's Stubber -----------------------------------------

DIGEST = "sha256:" + "d" * 64


def stubbed(*responses: dict[str, Any]) -> tuple[Any, Stubber]:
    client = boto3.client("ecr", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    token = None
    for response in responses:
        expected = {"repositoryName": REPOSITORY, "imageId": {"imageDigest": DIGEST}, "maxResults": 1000}
        if token:
            expected["nextToken"] = token
        stubber.add_response("describe_image_scan_findings", response, expected)
        token = response.get("nextToken") if response["imageScanStatus"]["status"] in scan_gate.DONE else None
    stubber.activate()
    return client, stubber


def run_gate(client: Any, fail_on: str = "CRITICAL") -> scan_gate.Scan:
    scan = scan_gate.Scan(REPOSITORY, DIGEST, fail_on)
    try:
        scan_gate.wait_for_scan(scan, client, None, timeout=300, interval=10)
    except scan_gate.Unreadable as error:
        scan.error = str(error)
    return scan


def test_a_pending_scan_is_waited_for_then_judged(fake_time):
    client, stubber = stubbed(answer(DIGEST, "PENDING"), answer(DIGEST, "PENDING"),
                              answer(DIGEST, "ACTIVE", [enhanced("CVE-2024-0001", "CRITICAL")]))
    scan = run_gate(client)
    stubber.assert_no_pending_responses()
    assert fake_time == [10, 10]
    assert scan.verdict == "blocked" and [f.vulnerability for f in scan.blocking] == ["CVE-2024-0001"]


def test_every_page_is_read_with_its_next_token():
    """The critical finding is on the second page; the counts are on both."""
    counts = {"CRITICAL": 1, "LOW": 1}
    client, stubber = stubbed(answer(DIGEST, "ACTIVE", [enhanced("CVE-2024-0005", "LOW")], counts, next_token="p2"),
                              answer(DIGEST, "ACTIVE", [enhanced("CVE-2024-0001", "CRITICAL")], counts))
    scan = run_gate(client)
    stubber.assert_no_pending_responses()
    assert scan.verdict == "blocked" and len(scan.findings) == 2


def test_a_repeated_next_token_is_cannot_tell():
    client, _ = stubbed(answer(DIGEST, "ACTIVE", [], {}, next_token="again"),
                        answer(DIGEST, "ACTIVE", [], {}, next_token="again"))
    assert run_gate(client).verdict == "unknown"


def test_counts_at_the_threshold_with_no_listed_finding_is_cannot_tell():
    """The counts say one CRITICAL, the list shows none: the gate does not pass on a list it cannot trust."""
    client, _ = stubbed(answer(DIGEST, "ACTIVE", [enhanced("CVE-2024-0005", "LOW")], {"CRITICAL": 1, "LOW": 1}))
    scan = run_gate(client)
    assert scan.verdict == "unknown" and "counts 1 findings at or above CRITICAL" in scan.error


def test_basic_scanning_findings_are_judged_too():
    response = answer(DIGEST, "COMPLETE")
    response["imageScanFindings"] = {"findingSeverityCounts": {"CRITICAL": 1}, "findings": [
        {"name": "CVE-2024-0006", "severity": "CRITICAL", "uri": "https://cve.example/CVE-2024-0006",
         "attributes": [{"key": "package_name", "value": "bash"}]}]}
    client, _ = stubbed(response)
    scan = run_gate(client)
    assert scan.verdict == "blocked" and scan.blocking[0].vulnerability == "CVE-2024-0006"


def test_untriaged_findings_never_block():
    client, _ = stubbed(answer(DIGEST, "ACTIVE", [enhanced("CVE-2024-0007", "UNTRIAGED")]))
    assert run_gate(client, "HIGH").verdict == "pass"
