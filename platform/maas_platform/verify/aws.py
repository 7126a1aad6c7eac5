"""The live account, read through boto3 and nothing else: read-only, paginated, retried.

Read-only is enforced where every call passes: a ``before-call`` handler on the session
refuses any operation that is not ``List*``, ``Describe*`` or ``Get*`` before a request is
signed, so a mutating call cannot leave this module even by mistake. The IAM policy in
``docs/verify-iam-policy.json`` grants exactly the operations this package makes.

Every list operation goes through a boto3 paginator; throttling is retried by botocore's
adaptive retry mode (client-side rate limiting plus exponential backoff). Credential,
permission and connection failures become :class:`VerifyError`, one line, so the command
exits 2 without a traceback.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

READ_ONLY_PREFIXES = ("List", "Describe", "Get")
POLICY_DOC = "docs/verify-iam-policy.json"
# Throttled calls are retried with backoff up to this many attempts in all.
MAX_ATTEMPTS = 10
# SQS pages ListQueues only when MaxResults is sent; 1000 is its largest page.
SQS_PAGE_SIZE = 1000

CREDENTIAL_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure", "RequestExpired",
    "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken",
})
ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"})
# (service, operation) an AWS-compatible endpoint may not implement: answered by a 501, or a 500
# whose body is not the service's protocol (no error code), it raises Unsupported at once,
# rather than being retried as a transient fault and then failing the run.
MAY_BE_UNIMPLEMENTED = frozenset({("budgets", "DescribeBudgetActionsForBudget")})
NOT_FOUND_CODES = frozenset({
    "ResourceNotFoundException", "NotFoundException", "NotFound", "NoSuchEntity", "TableNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NoSuchBucket", "DBClusterNotFoundFault",
})


class VerifyError(Exception):
    """The account cannot be read (credentials, permissions, endpoint): one line for the user."""


class ReadOnlyViolation(RuntimeError):
    """A mutating AWS operation was about to be called: a bug, refused before the request is sent."""


class NotFound(Exception):
    """The resource an operation named does not exist."""


class Unsupported(Exception):
    """The endpoint does not implement an operation the service's API model has.

    AWS implements every operation of its model; an emulator may not (moto 5.2.5 has no
    budget actions). Only the operations of :data:`MAY_BE_UNIMPLEMENTED` raise it, and the
    checks that make them report the property as skipped, never as held.
    """


def refuse_mutations(model: Any = None, **_: Any) -> None:
    """``before-call`` handler: only ``List*``, ``Describe*`` and ``Get*`` operations may proceed."""
    name = getattr(model, "name", "")
    if not name.startswith(READ_ONLY_PREFIXES):
        service = getattr(getattr(model, "service_model", None), "service_name", "?")
        raise ReadOnlyViolation(f"maas verify is read-only: refused {service}:{name}")


def refuse_unimplemented(response: Any = None, operation: Any = None, **_: Any) -> None:
    """``needs-retry`` handler of :data:`MAY_BE_UNIMPLEMENTED`: an answer saying "not implemented"
    raises :class:`Unsupported` before botocore retries it.

    AWS answers its own internal errors (500) in the service's protocol, with an error code
    (Budgets: ``InternalErrorException``), and those are retried as usual; a 500 without a code
    is an HTML error page, which is how moto's server answers an operation it lacks.
    """
    if response is None:
        return
    http, parsed = response
    code = str((parsed or {}).get("Error", {}).get("Code", ""))
    if http.status_code == 501 or (http.status_code == 500 and (not code or code.isdigit())):
        service = getattr(getattr(operation, "service_model", None), "endpoint_prefix", "?")
        raise Unsupported(f"{service}:{getattr(operation, 'name', '?')}")


def new_session(region: Optional[str]) -> boto3.Session:
    """A boto3 session from the standard credential chain (env, profile, SSO, instance role)."""
    return boto3.Session(region_name=region)


def classify(error: Exception, action: str, endpoint: Optional[str]) -> Optional[VerifyError]:
    """The one-line :class:`VerifyError` an exception means, or None when it is not the account's fault.

    ``action`` is the IAM-style name of the call (``kms:DescribeKey``) that failed.
    """
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return VerifyError("no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
    if isinstance(error, NoRegionError):
        return VerifyError("no AWS region: pass --region or set AWS_REGION")
    if isinstance(error, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        where = endpoint or "the AWS endpoint"
        return VerifyError(f"cannot reach {where} ({action}): {error}")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "") or code
        if code in CREDENTIAL_CODES:
            return VerifyError(f"AWS rejected the credentials ({code}) on {action}: {message}")
        if code in ACCESS_CODES:
            return VerifyError(f"access denied on {action}: attach the read-only policy {POLICY_DOC}")
        return VerifyError(f"{action} failed ({code or 'error'}): {message}")
    if isinstance(error, BotoCoreError):
        return VerifyError(f"{action} failed: {error}")
    return None


def is_not_found(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    return code in NOT_FOUND_CODES or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


class Account:
    """One AWS account and region, read concurrently by the checks.

    Clients are made once (a boto3 session is not thread-safe, its clients are); the
    account-wide inventories (aliases, queues, secrets, budgets, buckets, topics, log groups)
    are listed once, on first use.
    """

    def __init__(
        self,
        session: boto3.Session,
        region: str,
        endpoint_url: Optional[str] = None,
        workers: int = 8,
        page_size: Optional[int] = None,
    ):
        session.events.register("before-call", refuse_mutations)
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self.page_size = page_size
        self._config = Config(
            region_name=region,
            retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
            max_pool_connections=max(10, 2 * workers),
            connect_timeout=5,
            read_timeout=30,
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._inventories: dict[str, Any] = {}
        self.account_id = ""
        # service -> the name prefix its account-wide listing is narrowed to (set by the runner).
        self.name_prefixes: dict[str, str] = {}
        # The prefixes log groups are listed under, one per path (set by the runner).
        self.log_group_prefixes: list[str] = []

    # -- plumbing -------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                client = self.session.client(service, config=self._config, endpoint_url=self.endpoint_url)
                for unimplemented, operation in MAY_BE_UNIMPLEMENTED:
                    if unimplemented == service:
                        # First, so that the retry handler never schedules a retry of it.
                        client.meta.events.register_first(f"needs-retry.{service}.{operation}", refuse_unimplemented)
                self._clients[service] = client
            return self._clients[service]

    @contextmanager
    def _translated(self, service: str, operation: str) -> Iterator[None]:
        """Not-found errors become :class:`NotFound`; account failures :class:`VerifyError`."""
        try:
            yield
        except ClientError as error:
            if is_not_found(error):
                raise NotFound(f"{service}:{operation}") from None
            raise classify(error, f"{service}:{operation}", self.endpoint_url) from None
        except BotoCoreError as error:
            raise classify(error, f"{service}:{operation}", self.endpoint_url) from None

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """One call of a non-list operation (``operation`` is the client method name)."""
        client = self.client(service)
        with self._translated(service, _camel(operation)):
            return getattr(client, operation)(**params)

    def call_or_none(self, service: str, operation: str, unset: frozenset[str],
                     **params: Any) -> Optional[dict[str, Any]]:
        """One call of an operation that reads a setting; None when the answer is one of ``unset``.

        S3 answers a bucket setting never made (no tags, no default encryption, no public
        access block) with a 404 of its own code, which is not the bucket being missing.
        """
        client = self.client(service)
        with self._translated(service, _camel(operation)):
            try:
                return getattr(client, operation)(**params)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in unset:
                    return None
                raise

    def pages(self, service: str, operation: str, key: str, page_size: Optional[int] = None,
              sized: bool = True, **params: Any) -> list[Any]:
        """Every item under ``key`` of every page of a list operation (boto3 paginator).

        ``sized=False`` sends no page size at all, whatever the run's page size.
        """
        paginator = self.client(service).get_paginator(operation)
        pagination = {}
        size = (self.page_size or page_size) if sized else None
        # Some operations take no page size (DynamoDB ListTagsOfResource): they page on their own.
        if size and getattr(paginator, "_pagination_cfg", {}).get("limit_key"):
            pagination["PageSize"] = size
        items: list[Any] = []
        with self._translated(service, _camel(operation)):
            for page in paginator.paginate(PaginationConfig=pagination, **params):
                value = page.get(key)
                if isinstance(value, dict):
                    items.append(value)
                else:
                    items.extend(value or [])
        return items

    def _inventory(self, name: str, load: Callable[[], Any]) -> Any:
        with self._lock:
            if name not in self._inventories:
                self._inventories[name] = load()
            return self._inventories[name]

    # -- first call -----------------------------------------------------------------------

    def identify(self) -> str:
        """The account id, from a call that needs no permission: fails fast on bad credentials.

        A short-lived client with two attempts, so an unreachable endpoint is reported in
        seconds rather than after the full backoff of the checks' clients.
        """
        quick = Config(region_name=self.region, retries={"mode": "standard", "max_attempts": 2},
                       connect_timeout=3, read_timeout=10)
        try:
            client = self.session.client("sts", config=quick, endpoint_url=self.endpoint_url)
            with self._translated("sts", "GetCallerIdentity"):
                self.account_id = client.get_caller_identity()["Account"]
        except NotFound:
            raise VerifyError("sts:GetCallerIdentity answered not found: is --endpoint-url an AWS API?") from None
        except ValueError as error:  # e.g. a malformed --endpoint-url
            raise VerifyError(f"cannot use endpoint {self.endpoint_url}: {error}") from None
        return self.account_id

    # -- inventories ----------------------------------------------------------------------

    def aliases(self) -> dict[str, str]:
        """KMS alias name -> target key id."""
        def load() -> dict[str, str]:
            listed = self.pages("kms", "list_aliases", "Aliases")
            return {a["AliasName"]: a["TargetKeyId"] for a in listed if a.get("TargetKeyId")}
        return self._inventory("aliases", load)

    def key_id(self, reference: Optional[str]) -> Optional[str]:
        """The key id a live reference names: key id, key ARN, alias name or alias ARN."""
        if not reference:
            return None
        if ":alias/" in reference or reference.startswith("alias/"):
            return self.aliases().get("alias/" + reference.split("alias/", 1)[1])
        return reference.rsplit("key/", 1)[-1]

    def alias_of(self, key_id: Optional[str]) -> str:
        """A key as a person reads it: its alias (the platform names every key), else its id."""
        if not key_id:
            return "no customer key"
        names = sorted(name for name, target in self.aliases().items() if target == key_id)
        return names[0] if names else f"key {key_id}"

    def queues(self) -> dict[str, str]:
        """SQS queue name -> URL for the queues whose name starts with the SQS name prefix."""
        prefix = self.name_prefixes.get("sqs", "")

        def load() -> dict[str, str]:
            params = {"QueueNamePrefix": prefix} if prefix else {}
            urls = self.pages("sqs", "list_queues", "QueueUrls", page_size=SQS_PAGE_SIZE, **params)
            return {url.rstrip("/").rsplit("/", 1)[-1]: url for url in urls}
        return self._inventory(f"queues:{prefix}", load)

    def secrets(self) -> dict[str, dict[str, Any]]:
        """Secrets Manager name -> its list entry (KmsKeyId, Tags), narrowed by the name prefix."""
        prefix = self.name_prefixes.get("secretsmanager", "")

        def load() -> dict[str, dict[str, Any]]:
            params = {"Filters": [{"Key": "name", "Values": [prefix]}]} if prefix else {}
            return {s["Name"]: s for s in self.pages("secretsmanager", "list_secrets", "SecretList", **params)}
        return self._inventory(f"secrets:{prefix}", load)

    def budgets(self) -> dict[str, dict[str, Any]]:
        """Budget name -> budget, for the account."""
        def load() -> dict[str, dict[str, Any]]:
            listed = self.pages("budgets", "describe_budgets", "Budgets", AccountId=self.account_id)
            return {b["BudgetName"]: b for b in listed}
        return self._inventory("budgets", load)

    def budget_actions(self, budget: str) -> list[dict[str, Any]]:
        """The actions of one budget, every page of ``DescribeBudgetActionsForBudget``.

        Raises :class:`NotFound` when the budget does not exist and :class:`Unsupported` when
        the endpoint does not implement the operation (moto in-process raises NotImplementedError).
        """
        try:
            return self.pages("budgets", "describe_budget_actions_for_budget", "Actions",
                              AccountId=self.account_id, BudgetName=budget)
        except NotImplementedError:
            raise Unsupported("budgets:DescribeBudgetActionsForBudget") from None

    def buckets(self) -> set[str]:
        """The names of this account's S3 buckets under the S3 name prefix.

        A bucket name is global: one owned by another account is not this deployment's, so
        a bucket is looked for among the account's own. Sent without MaxBuckets: with a
        prefix and no size, S3 answers pages of 10,000 buckets and a continuation token beyond
        (moto 5.2.5 truncates a sized page without one).
        """
        prefix = self.name_prefixes.get("s3", "")

        def load() -> set[str]:
            params = {"Prefix": prefix} if prefix else {}
            return {b["Name"] for b in self.pages("s3", "list_buckets", "Buckets", sized=False, **params)}
        return self._inventory(f"buckets:{prefix}", load)

    def topics(self) -> dict[str, str]:
        """SNS topic name -> ARN (ListTopics takes no name filter: the whole region, once)."""
        def load() -> dict[str, str]:
            arns = [t["TopicArn"] for t in self.pages("sns", "list_topics", "Topics")]
            return {arn.rsplit(":", 1)[-1]: arn for arn in arns}
        return self._inventory("topics", load)

    def log_group(self, name: str) -> Optional[dict[str, Any]]:
        """A log group's description, from the listing of the narrowest planned prefix it falls under."""
        prefix = max((p for p in self.log_group_prefixes if name.startswith(p)), key=len, default=name)

        def load() -> dict[str, dict[str, Any]]:
            listed = self.pages("logs", "describe_log_groups", "logGroups", logGroupNamePrefix=prefix)
            return {g["logGroupName"]: g for g in listed}
        return self._inventory(f"log-groups:{prefix}", load).get(name)


def _camel(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def parse_json(document: Optional[str]) -> dict[str, Any]:
    """A JSON attribute (an SQS redrive policy), or {} when absent or malformed."""
    try:
        value = json.loads(document) if document else {}
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
