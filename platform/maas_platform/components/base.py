"""What every component shares: the args base model and the account facts."""

from __future__ import annotations

from typing import Union

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

# A value that may be known now or only after the engine creates something.
StrInput = Union[str, pulumi.Output]
# A list known now (possibly of Outputs) or only later.
ListInput = Union[list, pulumi.Output]


class ComponentArgs(BaseModel):
    """Base of every component's args: frozen, unknown fields rejected, Outputs allowed."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class AccountContext(ComponentArgs):
    """Facts about the target account that many resources need (ARNs, service principals)."""

    account_id: str = Field(description="12-digit AWS account id.")
    partition: str = Field("aws", description="AWS partition (aws, aws-cn, aws-us-gov).")
    region: str = Field(description="Region of the environment.")
    dns_suffix: str = Field("amazonaws.com", description="DNS suffix of service endpoints in the partition.")

    def arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        account_id = self.account_id if account else ""
        return f"arn:{self.partition}:{service}:{region}:{account_id}:{resource}"

    @property
    def root_principal(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def service_principal(self, service: str) -> str:
        return f"{service}.{self.dns_suffix}"

    def regional_service(self, service: str) -> str:
        """``<service>.<region>.amazonaws.com``: the name ``kms:ViaService`` and regional principals use."""
        return f"{service}.{self.region}.{self.dns_suffix}"


def child(parent: pulumi.Resource, **kwargs) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, nothing else inherited from the caller's opts."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def encrypted_log_group(
    parent: pulumi.Resource, resource_name: str, log_group_name: str, *,
    retention_days: int, key_arn: pulumi.Input[str], protect: bool,
) -> aws.cloudwatch.LogGroup:
    """A CloudWatch log group with retention and a customer key, protected when asked."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=key_arn,
        opts=child(parent, protect=protect),
    )
