"""The account as ``maas preflight`` reads it: ``maas verify``'s read-only account, its policy named.

:class:`~maas_platform.verify.aws.Account` already refuses every operation that is not
``List*``, ``Describe*`` or ``Get*`` (a ``before-call`` handler on the session), pages every
list call and retries throttling; this subclass only names this command's IAM policy when
access is denied, and opens a client in another region for a key that lives there.

What moto 5.2.5 in server mode answers for the operations used here (checked 2026-12-02 by
calling each against ``ThreadedMotoServer``): STS ``GetCallerIdentity``; IAM ``GetRole``
(``NoSuchEntity`` when missing, service-linked roles included); EC2 ``DescribeVpcs``,
``DescribeInternetGateways``, ``DescribeAddresses``, ``DescribeNatGateways``,
``DescribeSubnets``; S3 ``GetBucketLocation`` (``NoSuchBucket``) and ``GetBucketVersioning``;
KMS ``DescribeKey`` (aliases included); Organizations ``DescribeOrganization``
(``AWSOrganizationsNotInUseException`` outside an organization). Service Quotas
``GetServiceQuota`` answers only the ``vpc`` quotas (``moto/servicequotas/resources/
default_quotas/vpc.py``) and ``NoSuchResourceException`` for ``ec2``. Cost Explorer
``ListCostAllocationTags`` is not implemented (HTTP 500): tests cover it with botocore's
``Stubber``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ..verify.aws import ACCESS_CODES, Account, NotFound, VerifyError, classify, is_not_found

POLICY_DOC = "docs/preflight-iam-policy.json"
# boto3 client names whose IAM action prefix differs, so messages name the action to grant.
IAM_PREFIX = {"service-quotas": "servicequotas"}


class PreflightAccount(Account):
    """One account and region, read-only; access denied names ``docs/preflight-iam-policy.json``."""

    @contextmanager
    def _translated(self, service: str, operation: str) -> Iterator[None]:
        service = IAM_PREFIX.get(service, service)
        try:
            yield
        except ClientError as error:
            if is_not_found(error):
                raise NotFound(f"{service}:{operation}") from None
            if error.response.get("Error", {}).get("Code", "") in ACCESS_CODES:
                raise VerifyError(
                    f"access denied on {service}:{operation}: attach the read-only policy {POLICY_DOC}") from None
            raise classify(error, f"{service}:{operation}", self.endpoint_url) from None
        except BotoCoreError as error:
            raise classify(error, f"{service}:{operation}", self.endpoint_url) from None

    def call_in(self, region: str, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """One call made in another region (a secrets-provider key may live elsewhere).

        The client comes from the same session, so the read-only handler holds for it too.
        """
        client = self.session.client(service, config=self._config.merge(Config(region_name=region)),
                                      region_name=region, endpoint_url=self.endpoint_url)
        with self._translated(service, "".join(part.capitalize() for part in operation.split("_"))):
            return getattr(client, operation)(**params)
