"""Credentials written where they do not belong: detectors over one value.

One set of detectors for the two places that look: the agent schema (``config.agents``
refuses an ``env`` entry holding a credential) and the policy rules MAAS-SEC-015..019
(``policy.credentials``), which look in every container's env, every ConfigMap, Helm values,
Kubernetes Secrets, Lambda and ECS environments, SSM parameters and user data. A detector
answers *which kind* of credential a value holds (:class:`Match`), never the value or any
slice of it, so a finding built from it cannot leak what it found.

Three kinds of detector:

* **formats**: keys whose provider gives them a recognisable shape (AWS access key IDs,
  Stripe live keys, OpenAI / Anthropic / Google / GitHub / GitLab / Slack / Hugging Face
  tokens, PEM private keys, GCP service-account key files, Azure storage connection strings,
  JWTs, URLs with an inline password). They look anywhere in the value.
* **high entropy**: a value (or a word of a short value) that is one long token of the base64
  or hex alphabet, with Shannon entropy over the threshold. Only over short values: a document
  (a dashboard, an Envoy config) is full of identifiers, and is searched by format and by the
  names of its keys instead.
* **names**: ``DB_PASSWORD=...``, ``adminPassword: ...``, ``api_key = ...``: a key named like a
  credential with a literal value (not a ``$(VAR)`` / ``${VAR}`` / ``{{ }}`` reference).

Why not Yelp's detect-secrets (1.5.0, evaluated 2026-12-02 on PyPI's release): its
``scan_line`` needs the process-wide settings singleton (``default_settings()`` /
``transient_settings``), reports every high-entropy candidate *before* applying its limits (the
filtering happens in the baseline layer), imports ``requests`` for verification, costs
~1.6 ms per value (the 100-agent plan has thousands of values) and has no Anthropic, Hugging
Face, Google API key or GCP service-account detector. We take its entropy thresholds as the
reference (``Base64HighEntropyString`` limit 4.5, ``HexHighEntropyString`` limit 3.0, with its
all-digits correction) and its shapes for AWS, Stripe, GitHub, Slack, private keys and basic
auth; tests/test_credentials.py runs its plugins as an independent judge on our samples.

Formats checked on 2026-12-02 (sources named beside each pattern below).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Iterator, Optional

__all__ = ["Match", "ENTROPY_BASE64", "ENTROPY_HEX", "credential_name", "entropy", "is_reference", "scan",
           "scan_document", "scan_named"]


@dataclass(frozen=True)
class Match:
    """What a detector found: its name (``openai-api-key``) and what it is, in words
    (``an OpenAI API key``). Never the value."""

    detector: str
    description: str


# -- formats ---------------------------------------------------------------------------------

# (detector, description, pattern). Each pattern starts with a literal so a scan costs little.
_FORMATS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    # AWS IAM "Understanding unique ID prefixes" (docs.aws.amazon.com IAM reference_identifiers):
    # AKIA access key, ASIA temporary (STS) key, ABIA STS bearer token, ACCA context-specific
    # credential; 4-letter prefix + 16 upper-case letters/digits (detect-secrets AWSKeyDetector
    # uses the same shape). AIDA/AROA/AGPA... are IDs of users, roles, groups: not secrets.
    ("aws-access-key-id", "an AWS access key ID", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")),
    # Stripe (docs.stripe.com/keys; Stripe's own scanning rule, gitlab-org/gitlab#458019:
    # "(sk|rk)_live_[0-9a-z]{10,128}"). Test-mode keys (sk_test_) cannot move money: not flagged.
    ("stripe-live-key", "a Stripe live secret or restricted key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{10,128}")),
    # Anthropic: sk-ant-<kind><2 digits>-... (rule provided by Anthropic to GitLab secret detection,
    # gitlab-org/security-products/analyzers/secrets!319). Before OpenAI: both start sk-.
    ("anthropic-api-key", "an Anthropic API key", re.compile(r"\bsk-ant-[a-z]{3}\d{2}-[A-Za-z0-9_-]{20,}")),
    # OpenAI: legacy sk-<48>, project sk-proj-..., service account sk-svcacct-..., admin sk-admin-...
    # (platform.openai.com API keys docs; detect-secrets OpenAIDetector matches the legacy
    # T3BlbkFJ-marked form only).
    ("openai-api-key", "an OpenAI API key",
     re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}")),
    # Google API key: AIza + 35 of [A-Za-z0-9_-] (Microsoft Purview "Google API key" SIT).
    ("google-api-key", "a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])")),
    # GitHub (github.blog changelog 2021-03-31 "Authentication token format updates"): ghp_ gho_
    # ghu_ ghs_ ghr_ + 36; fine-grained github_pat_ + 22 + _ + 59.
    ("github-token", "a GitHub token",
     re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})")),
    # GitLab personal/project/group access tokens: glpat- (gitlab-org/gitlab#342327; docs
    # "personal access token prefix"); 20+ of [A-Za-z0-9_-], newer ones carry a '.'-separated tail.
    ("gitlab-token", "a GitLab access token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    # Slack tokens xoxb- xoxp- xoxa- xoxr- xoxs- xoxe- and app-level xapp- (api.slack.com
    # token types; detect-secrets SlackDetector), and incoming webhook URLs.
    ("slack-token", "a Slack token", re.compile(r"\b(?:xox[abposre](?:\.[a-z0-9]+)?-[0-9A-Za-z-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})")),
    ("slack-webhook", "a Slack incoming-webhook URL",
     re.compile(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Za-z0-9_]+/[A-Za-z0-9_/]+")),
    # Hugging Face user access tokens: hf_ + 34 letters (huggingface.co/docs/hub/security-tokens;
    # the signature secret scanners use, hf_[a-zA-Z0-9]{34}).
    ("huggingface-token", "a Hugging Face access token", re.compile(r"\bhf_[A-Za-z0-9]{34,}")),
    # PEM / OpenSSH / PGP private keys (detect-secrets PrivateKeyDetector's markers). A
    # "BEGIN CERTIFICATE" or "BEGIN PUBLIC KEY" is public: not matched.
    ("private-key", "a private key",
     re.compile(r"-----BEGIN (?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    # GCP service-account key file (gcloud iam service-accounts keys create: JSON with
    # "type": "service_account" and "private_key"); its key may be escaped (\n), so matched by field.
    ("gcp-service-account-key", "a Google Cloud service-account key",
     re.compile(r"\"private_key\"\s*:\s*\"-----BEGIN")),
    # Azure storage connection string: ...;AccountKey=<base64 88>;... (learn.microsoft.com
    # "Configure a connection string"; detect-secrets AzureStorageKeyDetector).
    ("azure-storage-key", "an Azure storage account key", re.compile(r"AccountKey=[A-Za-z0-9+/]{20,}={0,2}")),
    # JWT: three base64url parts, header and payload JSON objects ("eyJ" = '{"').
    ("jwt", "a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)
# Cheap pre-filter: a value none of these substrings occur in matches no format.
_FORMAT_HINTS = re.compile(r"AKIA|ASIA|ABIA|ACCA|k_live_|sk-|AIza|gh[pousr]_|github_pat_|glpat-|xox|xapp-|hooks\.slack|"
                           r"hf_|PRIVATE KEY|private_key|AccountKey=|eyJ")

# scheme://user:password@host (RFC 3986 userinfo; detect-secrets BasicAuthDetector). A password
# that is a reference to a variable ($(VAR), ${VAR}, {{ }}) is not a value.
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^\s:/?#\[\]@]+):([^\s/?#\[\]@]+)@")


def is_reference(value: str) -> bool:
    """A placeholder resolved elsewhere: ``$(VAR)`` (Kubernetes), ``${VAR}`` / ``${env:VAR}``
    (shell, collectors), ``{{ ... }}`` (templates), ``<...>``. Not a value to judge."""
    text = value.strip()
    # LiteLLM's config names a variable as os.environ/VAR (docs.litellm.ai/docs/proxy/configs, checked 2026-12-03).
    if re.fullmatch(r"os\.environ/[A-Za-z_][A-Za-z0-9_]*", text):
        return True
    return (text.startswith(("$(", "${", "{{", "<")) and text.endswith((")", "}", ">"))) or text in ("", "*")


def _formats(value: str) -> Iterator[Match]:
    if _FORMAT_HINTS.search(value):
        for detector, description, pattern in _FORMATS:
            if pattern.search(value):
                yield Match(detector, description)
    if "://" in value and "@" in value:
        for match in _URL_PASSWORD.finditer(value):
            if not is_reference(match.group(2)) and "$" not in match.group(2):
                yield Match("url-password", "a URL with an inline password")
                break


# -- entropy ---------------------------------------------------------------------------------

# detect-secrets' defaults (Base64HighEntropyString limit 4.5, HexHighEntropyString 3.0).
ENTROPY_BASE64 = 4.5
ENTROPY_HEX = 3.0
# Shorter tokens cannot be told from words and identifiers (and cannot reach 4.5 bits below 23
# characters: log2(n) caps the entropy of n characters).
MIN_TOKEN = 20
_BASE64_TOKEN = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]+")
# Identifiers that are long and random-looking by design, and public: UUIDs, and the hex of a
# commit (40) or a digest (64), which deployments pass around as versions.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGEST_LENGTHS = (40, 64)
# Tokens that are public or cannot reach live data: Stripe publishable keys (pk_, meant for
# browsers) and test-mode keys (sk_test_, rk_test_: "test keys cannot take any live actions",
# Stripe in gitlab-org/gitlab#458019).
_NOT_SECRET_PREFIXES = ("pk_live_", "pk_test_", "sk_test_", "rk_test_")
_URL_LOCATION = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*")
_URL_SEPARATORS = re.compile(r"[/?&=]")
# Short values only: in a document, long tokens are mostly identifiers (see the module doc).
MAX_SHORT_VALUE = 512


def entropy(token: str, alphabet: str) -> float:
    """Shannon entropy (bits per character) of ``token`` over ``alphabet`` (detect-secrets'
    ``calculate_shannon_entropy``; characters outside the alphabet count for nothing)."""
    if not token:
        return 0.0
    total = len(token)
    counts: dict[str, int] = {}
    for char in token:
        counts[char] = counts.get(char, 0) + 1
    return -sum((n / total) * math.log2(n / total) for char, n in counts.items() if char in alphabet)


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=")
_HEX_ALPHABET = frozenset("0123456789abcdefABCDEF")


def _high_entropy(value: str) -> Optional[Match]:
    if len(value) > MAX_SHORT_VALUE or "\n" in value:
        return None
    text = _UUID.sub(" ", value)
    if "://" in text:  # a URL's host and path name things (ids, buckets); only its query may carry a key
        text = _URL_SEPARATORS.sub(" ", _URL_LOCATION.sub(" ", text))
    for token in _BASE64_TOKEN.findall(text):
        if token.startswith(_NOT_SECRET_PREFIXES):
            continue
        if _HEX.fullmatch(token):
            if len(token) in _DIGEST_LENGTHS or len(token) < 32:
                continue
            bits = entropy(token, _HEX_ALPHABET)
            if token.isdigit():  # detect-secrets: all-digit strings are mostly numbers
                bits -= 1.2 / math.log2(len(token))
            if bits >= ENTROPY_HEX:
                return Match("high-entropy", "a high-entropy string")
        elif not (token.isalpha() and (token.islower() or token.isupper())) and entropy(token, _B64_ALPHABET) >= ENTROPY_BASE64:
            return Match("high-entropy", "a high-entropy string")
    return None


# -- names -----------------------------------------------------------------------------------

# The last word of a name says it holds a credential: DB_PASSWORD, adminPassword, api-key,
# GITHUB_TOKEN, client_secret, PGPASSWORD. A name whose last word is NAME, REF, FILE, PATH, URL,
# ID... only points at one (secretName, tokenFile, existingSecret), and is not matched.
_NAME_WORDS = re.compile(
    r"(?:PASSWORD|PASSWD|PASSPHRASE|(?:^|_)(?:SECRET|TOKEN|API_?KEY|ACCESS_?KEY|SECRET_?KEY|PRIVATE_?KEY|"
    r"CLIENT_?SECRET|AUTH|CREDENTIALS?|PWD))$")
_NOT_A_HOLDER = re.compile(r"(?:^|_)EXISTING(?:_|$)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Literal values that say nothing, or name what holds the credential rather than hold it:
# booleans, numbers, a few characters, an env variable's name (OPENAI_API_KEY), a Kubernetes
# object's or key's name made of words (admin-password, oncall-slack).
_TRIVIAL = re.compile(r"^(?:true|false|yes|no|on|off|null|none|\d+(?:\.\d+)?|.{0,5}|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|"
                      r"[a-z]+(?:[-.][a-z]+)+)$")


def credential_name(name: str) -> bool:
    """Whether ``name`` (an env variable, a key of a config file or of Helm values) is named
    like something that holds a credential."""
    normal = _CAMEL.sub("_", name.rsplit(".", 1)[-1].rsplit("/", 1)[-1]).replace("-", "_").upper()
    return bool(_NAME_WORDS.search(normal)) and not _NOT_A_HOLDER.search(normal)


def _named_literal(name: str, value: str) -> Optional[Match]:
    text = value.strip().strip("'\"")
    if not credential_name(name) or is_reference(text) or _TRIVIAL.match(text) or text.startswith("/"):
        return None
    return Match("named-credential", "a literal value under a credential's name")


# -- scanning --------------------------------------------------------------------------------

def _unique(matches: Iterator[Match]) -> list[Match]:
    return list(dict.fromkeys(matches))


def scan(value: str) -> list[Match]:
    """Every kind of credential ``value`` holds, by format anywhere in it and, for a short
    value, by entropy."""
    if not isinstance(value, str) or len(value) < 8:
        return []

    def found() -> Iterator[Match]:
        yield from _formats(value)
        high = _high_entropy(value)
        if high is not None:
            yield high

    matches = _unique(found())
    # A token both shaped and random is reported by its shape only.
    return [m for m in matches if m.detector != "high-entropy"] or matches


def scan_named(name: str, value: str) -> list[Match]:
    """:func:`scan`, and a literal value under a name that says it is a credential
    (``DB_PASSWORD=hunter2``)."""
    matches = scan(value) if isinstance(value, str) else []
    if not matches and isinstance(value, str):
        named = _named_literal(name, value)
        if named is not None:
            matches.append(named)
    return matches


# ``name: value`` / ``name = value`` / ``"name": "value"`` / ``export NAME=value`` inside a
# document, found from the credential word (a literal-led search: a document without one costs
# one pass), then the name around it and the value after it.
_CREDENTIAL_WORD = re.compile(r"(?i)passw(?:or)?d|passphrase|secret|api[_-]?key|access[_-]?key|token|private[_-]?key|"
                              r"credential")
_ASSIGNED = re.compile(r"[A-Za-z0-9_-]*[\"']?[ \t]*[:=][ \t]*[\"']?([^\s\"'#,;{}\[\]]*)")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _assignments(text: str) -> Iterator[tuple[str, str]]:
    for word in _CREDENTIAL_WORD.finditer(text):
        tail = _ASSIGNED.match(text, word.end())
        if tail is None:
            continue
        begin = word.start()
        while begin > 0 and text[begin - 1] in _NAME_CHARS:
            begin -= 1
        if begin > 0 and text[begin - 1] == ":":
            continue  # a part of an ARN or URN (arn:aws:secretsmanager:...:secret:name), not a key
        name_end = tail.start(1)
        name = text[begin:name_end].rstrip(" \t:=\"'")
        yield name, tail.group(1)


def scan_document(text: str) -> list[Match]:
    """The credentials in a document (a config file, user data, a script): every format, and
    every literal assigned to a key named like a credential. Short one-line values are judged
    as :func:`scan` does, entropy included."""
    if not isinstance(text, str):
        return []
    matches = scan(text)
    for name, value in _assignments(text):
        named = _named_literal(name, value)
        if named is not None:
            matches.append(named)
            break
    return _unique(iter(matches))


def decoded(value: str) -> Optional[str]:
    """``value`` decoded from base64 when it is base64 of UTF-8 text (ConfigMap binaryData,
    EC2 user data), else None."""
    compact = "".join(value.split())
    if len(compact) < 8 or len(compact) % 4 or not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", compact):
        return None
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
