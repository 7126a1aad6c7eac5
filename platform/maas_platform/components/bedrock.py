"""``BedrockLogging``: Amazon Bedrock's model invocation logging, to an encrypted log group.

Bedrock keeps one invocation-logging setting per account and Region: every call of every caller
in the Region (each agent's, and anyone else's) is logged where it says. So one platform stack
owns it, and two stacks in one account and Region would overwrite each other's setting (the
provider's documentation of ``aws.bedrockmodel.InvocationLoggingConfiguration``: "configured per
AWS region. To avoid overwriting settings, this resource should not be defined in multiple
configurations"; checked on 2026-12-03). The platform creates it when ``maas:llm.invocation_logging``
is on and at least one of its agents declares Bedrock models.

What is logged: each call's metadata (model, profile, input and output token counts, the
caller's role) and its text (prompts and answers), for audits of what an agent sent and was
told; images, embeddings and video are not delivered. The log group is encrypted with the
platform's ``logs`` key (whose policy admits CloudWatch Logs for the account's groups) and keeps
the environment's ``maas:llm.log_retention_days``.

Bedrock writes with a role of its own: trusted by ``bedrock.amazonaws.com`` for this account's
Bedrock only (``aws:SourceAccount``, ``aws:SourceArn``), allowed ``logs:CreateLogStream`` and
``logs:PutLogEvents`` on the group's ``aws/bedrock/modelinvocations`` stream (Bedrock user guide,
"Monitor model invocation using CloudWatch Logs and Amazon S3", model-invocation-logging.html,
section "Set up a CloudWatch Logs destination"; checked on 2026-12-03).
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
from pydantic import Field

from ..iam import Statement, Trust, policy_document, trust_policy
from ..names import MAAS_BEDROCK_LOGGING
from .base import AccountContext, ComponentArgs, StrInput, child, encrypted_log_group

# The stream Bedrock writes invocation logs to, inside the configured group.
INVOCATION_LOG_STREAM = "aws/bedrock/modelinvocations"
INVOCATION_LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")


class BedrockLoggingArgs(ComponentArgs):
    prefix: str
    account: AccountContext
    logs_key_arn: StrInput = Field(description="The platform's logs key: it encrypts the group.")
    retention_days: int = Field(description="maas:llm.log_retention_days (a CloudWatch Logs period).")
    protect: bool = Field(False, description="Protect the log group from deletion (maas:protect_stateful).")


def invocation_log_group_name(prefix: str) -> str:
    return f"/aws/bedrock/{prefix}/model-invocations"


class BedrockLogging(pulumi.ComponentResource):
    """The log group, Bedrock's role to write there, and the account-and-Region logging setting."""

    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    configuration: aws.bedrockmodel.InvocationLoggingConfiguration

    def __init__(self, name: str, args: BedrockLoggingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(MAAS_BEDROCK_LOGGING, name, None, opts)
        account = args.account
        self.log_group = encrypted_log_group(
            self, f"{name}-log-group", invocation_log_group_name(args.prefix),
            retention_days=args.retention_days, key_arn=args.logs_key_arn, protect=args.protect,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=f"{args.prefix}-bedrock-invocation-logging",
            description=f"Bedrock writes the model invocation logs of {args.prefix}'s account and Region",
            assume_role_policy=trust_policy(Trust(
                sid="BedrockOfThisAccount",
                principal={"Service": account.service_principal("bedrock")},
                conditions={
                    "StringEquals": {"aws:SourceAccount": account.account_id},
                    "ArnLike": {"aws:SourceArn": account.arn("bedrock", "*")},
                },
            )),
            max_session_duration=3600,
            opts=child(self),
        )
        writes = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=self.role.id,
            policy=policy_document(Statement(
                sid="InvocationLogStream",
                actions=INVOCATION_LOG_WRITE,
                resources=(self.log_group.arn.apply(lambda arn: f"{arn.removesuffix(':*')}:log-stream:{INVOCATION_LOG_STREAM}"),),
            )),
            opts=child(self),
        )
        self.configuration = aws.bedrockmodel.InvocationLoggingConfiguration(
            f"{name}-configuration",
            logging_config={
                "cloudwatch_config": {"log_group_name": self.log_group.name, "role_arn": self.role.arn},
                "text_data_delivery_enabled": True,
                "image_data_delivery_enabled": False,
                "embedding_data_delivery_enabled": False,
                "video_data_delivery_enabled": False,
            },
            opts=child(self, depends_on=[writes]),
        )
        self.register_outputs({"log_group_name": self.log_group.name, "role_arn": self.role.arn})
