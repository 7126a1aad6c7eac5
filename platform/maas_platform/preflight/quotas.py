"""Service quotas the plan would exceed: what it creates, plus what the account has, against the quota.

The quotas, as data. Defaults from the Amazon VPC user guide's "Amazon VPC quotas" page
(docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html, stored copy read
2026-12-02): VPCs per Region 5; Internet gateways per Region 5 (raised with VPCs per Region);
Elastic IP addresses per Region 5; NAT gateways per Availability Zone 5, counting gateways
in the pending, active and deleting states. Quota codes: the ``vpc`` ones as Service Quotas
lists them (moto 5.2.5 ``servicequotas/resources/default_quotas/vpc.py``, a copy of
``ListAWSDefaultServiceQuotas``); ``ec2`` ``L-0263D0A3`` ("EC2-VPC Elastic IPs") from public
code that reads it (several repositories agree; no AWS page lists codes), read 2026-12-02.

The applied value comes from ``servicequotas:GetServiceQuota``; when that does not answer
(denied, or a quota it does not know) the documented default is used and the line says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Optional

from ..names import EC2_EIP, EC2_INTERNET_GATEWAY, EC2_NAT_GATEWAY, EC2_SUBNET, EC2_VPC
from ..plan.model import Plan
from ..verify.aws import NotFound, VerifyError
from .account import PreflightAccount
from .findings import BLOCKER, OK, QUOTAS, Finding

# The NAT gateway states a quota counts (the console's "active" is the API's "available").
COUNTED_NAT_STATES = ("pending", "available", "deleting")
UNKNOWN_ZONE = "(zone not known offline)"
# How Service Quotas says it holds no applied value for a quota code (in a region).
NO_VALUE = frozenset({"NoSuchResourceException"})


@dataclass(frozen=True)
class Quota:
    name: str
    service_code: str
    quota_code: str
    default: int
    resource_type: str  # what the plan creates against it
    per_zone: bool = False


CHECKED_QUOTAS = (
    Quota("VPCs per Region", "vpc", "L-F678F1CE", 5, EC2_VPC),
    Quota("Internet gateways per Region", "vpc", "L-A4707A72", 5, EC2_INTERNET_GATEWAY),
    Quota("EC2-VPC Elastic IPs", "ec2", "L-0263D0A3", 5, EC2_EIP),
    Quota("NAT gateways per Availability Zone", "vpc", "L-FE5A380F", 5, EC2_NAT_GATEWAY, per_zone=True),
)


def planned(plan: Plan, quota: Quota) -> Counter:
    """How many of the quota's resources the plan creates, per zone for a per-zone quota ("" otherwise)."""
    counts: Counter = Counter()
    for resource in plan.of_type(quota.resource_type):
        counts[_zone_of(plan, resource.dependencies) if quota.per_zone else ""] += 1
    return counts


def _zone_of(plan: Plan, dependencies: list[str]) -> str:
    """The zone of the subnet a resource depends on (a NAT gateway's subnet), from the plan's inputs."""
    for urn in dependencies:
        try:
            resource = plan.get(urn)
        except KeyError:
            continue
        if resource.type == EC2_SUBNET and isinstance(resource.inputs.get("availabilityZone"), str):
            return resource.inputs["availabilityZone"]
    return UNKNOWN_ZONE


def existing(account: PreflightAccount, quota: Quota) -> Counter:
    """What the account already has against the quota, per zone for a per-zone quota."""
    counters: dict[str, Callable[[], Counter]] = {
        EC2_VPC: lambda: Counter({"": len(account.pages("ec2", "describe_vpcs", "Vpcs"))}),
        EC2_INTERNET_GATEWAY: lambda: Counter({"": len(account.pages("ec2", "describe_internet_gateways",
                                                                     "InternetGateways"))}),
        # DescribeAddresses has no paginator: one call answers every address of the region.
        EC2_EIP: lambda: Counter({"": len(account.call("ec2", "describe_addresses").get("Addresses") or [])}),
        EC2_NAT_GATEWAY: lambda: _nat_gateways_per_zone(account),
    }
    return counters[quota.resource_type]()


def _nat_gateways_per_zone(account: PreflightAccount) -> Counter:
    gateways = account.pages("ec2", "describe_nat_gateways", "NatGateways",
                             Filter=[{"Name": "state", "Values": list(COUNTED_NAT_STATES)}])
    subnets = sorted({g["SubnetId"] for g in gateways if g.get("SubnetId")})
    zones = {}
    if subnets:
        zones = {s["SubnetId"]: s["AvailabilityZone"]
                 for s in account.pages("ec2", "describe_subnets", "Subnets", SubnetIds=subnets)}
    return Counter(zones.get(g.get("SubnetId"), UNKNOWN_ZONE) for g in gateways)


def applied_value(account: PreflightAccount, quota: Quota) -> tuple[float, Optional[str]]:
    """The quota's applied value and None, or the documented default and why Service Quotas was not used."""
    try:
        answer = account.call_or_none("service-quotas", "get_service_quota", NO_VALUE,
                                      ServiceCode=quota.service_code, QuotaCode=quota.quota_code)
    except (NotFound, VerifyError) as error:
        reason = "not found" if isinstance(error, NotFound) else str(error)
        return float(quota.default), f"documented default: Service Quotas did not answer: {reason}"
    value = ((answer or {}).get("Quota") or {}).get("Value")
    if not isinstance(value, (int, float)):
        return float(quota.default), "documented default: Service Quotas has no applied value for it"
    return float(value), None


def quota_findings(plan: Plan, account: PreflightAccount) -> list[Finding]:
    """One line per quota: the busiest region or zone, and whether the plan fits."""
    found = []
    for quota in CHECKED_QUOTAS:
        subject = f"{quota.name} ({quota.service_code} {quota.quota_code})"
        wanted = planned(plan, quota)
        if not wanted:
            found.append(Finding(OK, QUOTAS, subject, "the plan creates none"))
            continue
        have = existing(account, quota)
        limit, note = applied_value(account, quota)
        source = f" ({note})" if note else ""
        over = []
        for zone, count in sorted(wanted.items()):
            # A zone the plan does not name is compared with the account's busiest zone.
            current = max(have.values(), default=0) if zone == UNKNOWN_ZONE else have.get(zone, 0)
            if current + count > limit:
                over.append((zone, count, current))
        where = lambda zone: f" in {zone}" if zone else ""  # noqa: E731
        if over:
            zone, count, current = max(over, key=lambda item: item[1] + item[2])
            desired = int(current + count)
            found.append(Finding(
                BLOCKER, QUOTAS, subject,
                f"the plan adds {count}{where(zone)}, the account has {current}, the quota is {limit:g}{source}: "
                f"aws service-quotas request-service-quota-increase --service-code {quota.service_code} "
                f"--quota-code {quota.quota_code} --desired-value {desired} --region {account.region}",
            ))
        else:
            zone, count = max(wanted.items(), key=lambda item: (item[1] + have.get(item[0], 0), item[0]))
            current = have.get(zone, 0)
            found.append(Finding(OK, QUOTAS, subject,
                                 f"the plan adds {count}{where(zone)}, the account has {current}, "
                                 f"the quota is {limit:g}{source}"))
    return found
