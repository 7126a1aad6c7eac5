"""What an EC2 instance type's name says about the node it makes: the processor architecture
and the managed node group AMI type that boots on it.

The name is ``<family>.<size>``; the family is a series (one or more letters: ``m``, ``c``,
``is``, ``hpc``), a generation digit, then option letters, and sometimes a ``-suffix``
(``m7i-flex``, ``u7i-12tb``). Among the options, ``g`` means AWS Graviton (arm64), ``a`` AMD
and ``i`` Intel; ``a1``, the first Graviton family, has no option letter. Checked on
2026-12-02 in AWS's "Amazon EC2 instance type naming conventions" (Amazon EC2 Instance Types
guide) as cited by the CDK and SDK references ("the instance family is everything before the
period"), and against the Graviton families eksctl lists as ARM (a1, t4g, m6g, m7g, m6gd, c6g,
c7g, c6gd, r6g, r7g, r6gd, m8g, r8g, c8g: eksctl user guide, "ARM Support").
"""

from __future__ import annotations

import re
from typing import Literal

Architecture = Literal["amd64", "arm64"]

# series, an optional high-memory size (u-12tb1), generation, options, an optional -suffix, size.
_INSTANCE_TYPE = re.compile(
    r"^(?P<series>[a-z]+?)(?:-\d+tb)?(?P<generation>\d+)(?P<options>[a-z]*)(?:-[a-z0-9]+)?\.(?P<size>[a-z0-9-]+)$"
)
# The first Graviton family predates the option letter.
_GRAVITON_WITHOUT_OPTION = frozenset({"a1"})

# The managed node group AMI types, Amazon Linux 2023 standard. Checked on 2026-12-02: the
# AmiType enum of AWS::EKS::Nodegroup (CloudFormation resource schema, as bundled in cfn-lint
# 1.58.0) lists AL2023_x86_64_STANDARD and AL2023_ARM_64_STANDARD; pulumi-aws 7.51.1's
# eks.NodeGroup.ami_type takes the EKS API's values (API_Nodegroup amiType).
AMI_TYPES: dict[str, str] = {
    "amd64": "AL2023_x86_64_STANDARD",
    "arm64": "AL2023_ARM_64_STANDARD",
}


def architecture(instance_type: str) -> Architecture:
    """``arm64`` for AWS Graviton instance types (``m7g.large``, ``c6gn.xlarge``, ``a1.medium``),
    ``amd64`` for every other type (Intel and AMD). A name that does not follow the naming
    convention is a ValueError that says what a type looks like."""
    match = _INSTANCE_TYPE.match(instance_type)
    if not match:
        raise ValueError(f"'{instance_type}' is not an EC2 instance type (family.size, e.g. m7g.large or m6i.xlarge)")
    if match["series"] == "mac":
        raise ValueError(f"'{instance_type}' is a Mac instance; EKS nodes run on Linux instance types")
    family = instance_type.split(".", 1)[0]
    if family in _GRAVITON_WITHOUT_OPTION or "g" in match["options"]:
        return "arm64"
    return "amd64"


def architectures(instance_types: list[str]) -> set[Architecture]:
    """The architectures of several instance types."""
    return {architecture(t) for t in instance_types}


def ami_type(instance_types: list[str]) -> str:
    """The AL2023 AMI type that boots on every one of ``instance_types``. A managed node group
    has one AMI type, so types of two architectures cannot share a group: a ValueError."""
    found = architectures(instance_types)
    if len(found) != 1:
        amd = sorted(t for t in instance_types if architecture(t) == "amd64")
        arm = sorted(t for t in instance_types if architecture(t) == "arm64")
        raise ValueError(
            f"instance types mix arm64 ({', '.join(arm)}) and amd64 ({', '.join(amd)}); a node group has one "
            "AMI type, so list types of one architecture per group"
        )
    return AMI_TYPES[found.pop()]
