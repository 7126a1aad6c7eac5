"""The state backend and the secrets provider the stack will use, and whether they are there.

Where Pulumi takes them from (pulumi/pulumi ``GetCurrentCloudURLWithSource`` in package
``workspace``, the stored copy read 2026-12-02): the backend is ``PULUMI_BACKEND_URL``, else
``backend.url`` of the project's ``Pulumi.yaml``, else the one ``pulumi login`` stored. The
secrets provider is the stack file's ``secretsprovider`` (Pulumi's stack settings file
reference), written by ``pulumi stack init --secrets-provider``; without one a stack uses its
backend's default (Pulumi Cloud's, or a passphrase for a DIY backend: ``pulumi stack init``
reference). ``--backend-url`` and ``--secrets-provider`` check values not written down yet.

An S3 backend is ``s3://<bucket>[/<prefix>][?region=...]`` (Pulumi's DIY backend guide); an
``awskms://`` provider names its key as the URL's host and path — a key id, key ARN, alias
name or alias ARN, an ARN written ``awskms:///arn:...`` — with an optional ``region`` query
parameter (gocloud.dev ``secrets/awskms/kms.go``, read 2026-12-02).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional
from urllib.parse import parse_qs, urlparse

import yaml

from ..config.loader import ConfigError
from ..verify.aws import NotFound
from .account import PreflightAccount
from .findings import BLOCKER, INFO, OK, STATE, WARNING, Finding

BACKEND_ENV = "PULUMI_BACKEND_URL"


@dataclass(frozen=True)
class StateSettings:
    """The backend URL and secrets provider, each with where it was read from ("" when unset)."""

    backend_url: str = ""
    backend_source: str = ""
    secrets_provider: str = ""
    secrets_source: str = ""


def read_state_settings(project_file: Path, stack_file: Path, backend_url: Optional[str] = None,
                        secrets_provider: Optional[str] = None,
                        environ: Optional[Mapping[str, str]] = None) -> StateSettings:
    """The settings as Pulumi would resolve them; a flag wins over what the files say."""
    environ = os.environ if environ is None else environ
    if backend_url:
        backend, backend_source = backend_url, "--backend-url"
    elif environ.get(BACKEND_ENV):
        backend, backend_source = environ[BACKEND_ENV], BACKEND_ENV
    else:
        project = _yaml_mapping(project_file)
        url = (project.get("backend") or {}).get("url") if isinstance(project.get("backend"), dict) else None
        backend, backend_source = (str(url), f"{project_file.name} backend.url") if url else ("", "")
    if secrets_provider:
        provider, provider_source = secrets_provider, "--secrets-provider"
    else:
        value = _yaml_mapping(stack_file).get("secretsprovider")
        provider, provider_source = (str(value), f"{stack_file.name} secretsprovider") if value else ("", "")
    return StateSettings(backend, backend_source, provider, provider_source)


def backend_findings(settings: StateSettings, account: PreflightAccount) -> list[Finding]:
    """An S3 backend's bucket exists (``s3:GetBucketLocation``) and keeps versions."""
    subject = "state backend"
    if not settings.backend_url:
        return [Finding(INFO, STATE, subject,
                        f"not named (no --backend-url, {BACKEND_ENV} or backend.url in Pulumi.yaml): the one "
                        "`pulumi login` chose is used; not checked")]
    url, source = settings.backend_url, settings.backend_source
    parsed = urlparse(url)
    if parsed.scheme != "s3":
        return [Finding(INFO, STATE, subject, f"{url} (from {source}) is not an S3 bucket: not checked")]
    bucket = parsed.netloc
    if not bucket:
        return [Finding(BLOCKER, STATE, subject, f"{url} (from {source}) names no bucket: write s3://<bucket>")]
    try:
        account.call("s3", "get_bucket_location", Bucket=bucket)
    except NotFound:
        return [Finding(BLOCKER, STATE, subject,
                        f"bucket {bucket} of {url} (from {source}) does not exist: create it (versioned, encrypted, "
                        "public access blocked) before pulumi login, or fix the URL")]
    versioning = account.call("s3", "get_bucket_versioning", Bucket=bucket).get("Status")
    if versioning != "Enabled":
        return [Finding(WARNING, STATE, subject,
                        f"bucket {bucket} (from {source}) exists without versioning: turn it on (aws s3api "
                        f"put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled) "
                        "so an earlier state file can be restored")]
    return [Finding(OK, STATE, subject, f"bucket {bucket} (from {source}) exists, versioned")]


def secrets_provider_findings(settings: StateSettings, account: PreflightAccount) -> list[Finding]:
    """An ``awskms://`` provider's key exists, is enabled and encrypts symmetrically (``kms:DescribeKey``)."""
    subject = "secrets provider"
    if not settings.secrets_provider:
        return [Finding(INFO, STATE, subject,
                        "not named (no --secrets-provider, no secretsprovider in the stack file): the backend's "
                        "default is used (Pulumi Cloud's, or a passphrase for a self-managed backend); not checked")]
    url, source = settings.secrets_provider, settings.secrets_source
    parsed = urlparse(url)
    if parsed.scheme != "awskms":
        return [Finding(INFO, STATE, subject, f"{url} (from {source}) is not an AWS KMS key: not checked")]
    key = f"{parsed.netloc}{parsed.path}".lstrip("/")
    if not key:
        return [Finding(BLOCKER, STATE, subject, f"{url} (from {source}) names no key: write awskms://alias/<name>")]
    region = (parse_qs(parsed.query).get("region") or [account.region])[0]
    try:
        metadata = account.call_in(region, "kms", "describe_key", KeyId=key)["KeyMetadata"]
    except NotFound:
        return [Finding(BLOCKER, STATE, subject, f"key {key} of {url} (from {source}) does not exist in {region}: "
                                                 "create it or fix the URL")]
    problems = []
    if metadata.get("KeyState") != "Enabled":
        problems.append(f"its state is {metadata.get('KeyState')}, not Enabled")
    # A SYMMETRIC_DEFAULT key encrypts and decrypts (its only usage); HMAC and asymmetric keys cannot serve.
    spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec")
    if spec != "SYMMETRIC_DEFAULT":
        problems.append(f"its key spec is {spec or 'not reported'}, not SYMMETRIC_DEFAULT (a symmetric encryption key)")
    if problems:
        return [Finding(BLOCKER, STATE, subject, f"key {key} of {url} (from {source}): {'; '.join(problems)}")]
    return [Finding(OK, STATE, subject, f"key {key} (from {source}) is enabled in {region}")]


def _yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"file not found: {path}") from None
    except yaml.YAMLError:
        raise ConfigError(f"{path}: not valid YAML") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping")
    return document
