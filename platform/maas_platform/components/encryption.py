"""Platform KMS keys: one per purpose, rotated, with least-privilege key policies.

* ``eks``  — envelope encryption of Kubernetes secrets; usable only through EKS.
* ``logs`` — CloudWatch log groups (flow logs, control-plane logs); usable by the
  CloudWatch Logs service only for log groups of this account and region.
* ``ebs``  — node and persistent volumes; usable only through EC2, plus the Auto
  Scaling service-linked role that launches managed nodes with encrypted volumes.

The account root administers each key (so IAM can recover it) but may *use* a key only
through the service it serves (``kms:ViaService``); nobody gets ``kms:*``.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from ..iam import Statement, policy_document
from ..iam.actions import KEY_ADMIN_ACTIONS, KEY_CRYPTO_ACTIONS, KEY_USE_ACTIONS
from .base import AccountContext, ComponentArgs, child

# purpose -> (description, AWS service that may use it on the account's behalf)
KEY_PURPOSES = {
    "eks": ("Envelope encryption of Kubernetes secrets", "eks"),
    "logs": ("CloudWatch Logs: VPC flow logs and EKS control-plane logs", "logs"),
    "ebs": ("EBS volumes of nodes and persistent volumes", "ec2"),
}


class EncryptionArgs(ComponentArgs):
    prefix: str = Field(description="Prefix of aliases: alias/<prefix>-<purpose>.")
    account: AccountContext
    deletion_window_days: int = Field(30, ge=7, le=30, description="Waiting period of a scheduled deletion.")
    protect: bool = Field(False, description="Protect the keys from `pulumi destroy`.")
    existing: dict[str, str] = Field(
        default_factory=dict,
        description="Key ARNs by purpose that the platform uses instead of creating its own (it then manages "
                    "neither the key nor its policy). Default: none.",
    )


class PlatformKeys(pulumi.ComponentResource):
    """The platform's customer-managed KMS keys and their aliases."""

    keys: dict[str, aws.kms.Key]  # the keys this component created
    arns: dict[str, pulumi.Input[str]]  # every purpose's key ARN, created or brought

    def __init__(self, name: str, args: EncryptionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("maas:encryption:PlatformKeys", name, None, opts)
        unknown = sorted(set(args.existing) - set(KEY_PURPOSES))
        if unknown:
            raise ValueError(f"existing keys for unknown purposes {unknown}; purposes are {sorted(KEY_PURPOSES)}")
        self.keys, self.arns = {}, {}
        for purpose, (description, service) in KEY_PURPOSES.items():
            if purpose in args.existing:
                self.arns[purpose] = args.existing[purpose]
                continue
            key = aws.kms.Key(
                f"{name}-{purpose}",
                description=f"{args.prefix}: {description}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.deletion_window_days,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                policy=key_policy(purpose, service, args.account),
                tags={"Name": f"{args.prefix}-{purpose}", "purpose": purpose},
                opts=child(self, protect=args.protect),
            )
            aws.kms.Alias(
                f"{name}-{purpose}-alias",
                name=f"alias/{args.prefix}-{purpose}",
                target_key_id=key.key_id,
                opts=child(self),
            )
            self.keys[purpose] = key
            self.arns[purpose] = key.arn
        self.register_outputs({f"{purpose}_key_arn": arn for purpose, arn in self.arns.items()})

    def arn(self, purpose: str) -> pulumi.Input[str]:
        return self.arns[purpose]


def key_policy(purpose: str, service: str, account: AccountContext) -> pulumi.Output[str]:
    """The least-privilege policy of one platform key."""
    root = {"AWS": account.root_principal}
    same_account = {"kms:CallerAccount": account.account_id}
    statements = [
        Statement(sid="RootAdministersKey", principals=root, actions=KEY_ADMIN_ACTIONS, resources=("*",)),
        Statement(
            sid=f"UseOnlyThrough{service.upper()}",
            principals=root,
            actions=KEY_USE_ACTIONS + ("kms:CreateGrant",),
            resources=("*",),
            conditions={"StringEquals": {**same_account, "kms:ViaService": account.regional_service(service)}},
        ),
    ]
    if purpose == "logs":
        # The cryptographic operations only: the encryption-context condition never matches a
        # DescribeKey request, which carries no context.
        statements.append(Statement(
            sid="CloudWatchLogsOfThisAccount",
            principals={"Service": account.regional_service("logs")},
            actions=KEY_CRYPTO_ACTIONS,
            resources=("*",),
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": account.arn("logs", "log-group:*")}},
        ))
    if purpose == "ebs":
        autoscaling = (
            f"arn:{account.partition}:iam::{account.account_id}:role/aws-service-role/"
            "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        )
        statements.append(Statement(
            sid="AutoScalingLaunchesEncryptedVolumes",
            principals={"AWS": autoscaling},
            actions=KEY_USE_ACTIONS,
            resources=("*",),
        ))
        statements.append(Statement(
            sid="AutoScalingGrantsForAttachedVolumes",
            principals={"AWS": autoscaling},
            actions=("kms:CreateGrant",),
            resources=("*",),
            conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
        ))
    return policy_document(*statements)
