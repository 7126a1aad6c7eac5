"""``Delivery``: what the platform stack sets up once for every agent's release pipeline.

* The account's IAM OIDC provider for GitHub Actions (``token.actions.githubusercontent.com``,
  audience ``sts.amazonaws.com``), unless ``maas:delivery.github_oidc_provider_arn`` names the one
  the account has (IAM keeps one provider per URL and account). No thumbprint: for GitHub, IAM
  trusts its own library of root CAs and ignores any thumbprint (pulumi_aws 7.51.1,
  ``iam.OpenIdConnectProvider`` ``thumbprint_lists``; checked 2026-12-03).
* With ``registry_scanning``: Amazon Inspector turned on for ECR in the account, and the registry's
  scanning configuration ENHANCED, scanning the agents' repositories (``<prefix>/*``) on push and
  continuously. Both are settings of the account and region, not of this stack: a second platform
  stack in the same account and region that also scans would overwrite this one's filters (ECR keeps
  one scanning configuration per registry, PutRegistryScanningConfiguration replaces it; checked
  2026-12-03). Set ``registry_scanning: false`` in every stack but one, or where the account's
  security team manages scanning.
* An EventBridge rule on Amazon Inspector's ACTIVE CRITICAL findings for images of the agents'
  repositories, delivered to the platform's alert topic as one line (repository, digest, CVE, title).
  The topic's policy and key let this rule, and no other, publish (components/broker.py).
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from .. import names
from ..config.delivery import DeliveryConfig
from .base import AccountContext, ComponentArgs, StrInput, child


class DeliveryArgs(ComponentArgs):
    prefix: str
    account: AccountContext
    config: DeliveryConfig
    alert_topic_arn: StrInput = Field(description="Where critical image findings go (Broker.alert_topic).")


def critical_finding_pattern(account: AccountContext, prefix: str) -> dict:
    """The event pattern of the rule: Inspector's ACTIVE CRITICAL findings on the agents' repositories.

    Inspector publishes every finding to the default bus as ``source aws.inspector2``, ``detail-type
    Inspector2 Finding``, with ``detail.severity`` and ``detail.status`` and the repository's ARN in the
    event's ``resources`` (Inspector user guide, "Amazon EventBridge event schema for Amazon Inspector
    events", finding example; checked 2026-12-03). The repositories are matched by the ARN prefix
    ``repository/<prefix>/`` in ``resources`` rather than by ``detail.resources[].details``: a prefix on
    the top-level list is the same match, and moto's matcher (tests) reads top-level lists only.
    """
    return {
        "source": ["aws.inspector2"],
        "detail-type": ["Inspector2 Finding"],
        "detail": {"severity": ["CRITICAL"], "status": ["ACTIVE"]},
        "resources": [{"prefix": account.arn("ecr", f"repository/{prefix}/")}],
    }


# The alert's one line: which agent's repository, which image, which vulnerability. Paths into the
# finding (Inspector API "Finding": packageVulnerabilityDetails.vulnerabilityId, title,
# resources[].details.awsEcrContainerImage.repositoryName / imageHash; checked 2026-12-03).
ALERT_INPUT_PATHS = {
    "repository": "$.detail.resources[0].details.awsEcrContainerImage.repositoryName",
    "digest": "$.detail.resources[0].details.awsEcrContainerImage.imageHash",
    "cve": "$.detail.packageVulnerabilityDetails.vulnerabilityId",
    "title": "$.detail.title",
}
ALERT_TEMPLATE = ('"CRITICAL image finding <cve> in <repository>@<digest>: <title> '
                  '(runbook: docs/runbooks/image-critical-finding.md)"')


class Delivery(pulumi.ComponentResource):
    """The GitHub OIDC provider, registry scanning and the critical-finding alert of one environment."""

    github_oidc_provider_arn: StrInput
    provider: Optional[aws.iam.OpenIdConnectProvider]
    inspector: Optional[aws.inspector2.Enabler]
    scanning: Optional[aws.ecr.RegistryScanningConfiguration]
    rule: aws.cloudwatch.EventRule

    def __init__(self, name: str, args: DeliveryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_DELIVERY, name, None, opts)
        config, account = args.config, args.account
        self.provider = None
        if config.github_oidc_provider_arn is not None:
            self.github_oidc_provider_arn = config.github_oidc_provider_arn
        else:
            self.provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github-oidc",
                url=names.GITHUB_OIDC_URL,
                client_id_lists=[names.GITHUB_OIDC_AUDIENCE],
                opts=child(self),
            )
            self.github_oidc_provider_arn = self.provider.arn
        self.inspector = self.scanning = None
        if config.registry_scanning:
            self.inspector = aws.inspector2.Enabler(
                f"{name}-inspector-ecr", account_ids=[account.account_id], resource_types=["ECR"], opts=child(self),
            )
            repositories = [{"filter": f"{args.prefix}/*", "filter_type": "WILDCARD"}]
            self.scanning = aws.ecr.RegistryScanningConfiguration(
                f"{name}-registry-scanning",
                scan_type="ENHANCED",
                rules=[{"scan_frequency": frequency, "repository_filters": repositories}
                       for frequency in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")],
                opts=child(self, depends_on=[self.inspector]),
            )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-critical-findings",
            name=names.critical_finding_rule_name(args.prefix),
            description=f"Amazon Inspector's critical findings on the agents' images of {args.prefix}",
            event_pattern=json.dumps(critical_finding_pattern(account, args.prefix)),
            opts=child(self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-critical-findings-alert",
            rule=self.rule.name,
            arn=args.alert_topic_arn,
            input_transformer={"input_paths": ALERT_INPUT_PATHS, "input_template": ALERT_TEMPLATE},
            opts=child(self),
        )
        self.register_outputs({"github_oidc_provider_arn": self.github_oidc_provider_arn,
                               "critical_finding_rule_arn": self.rule.arn})
