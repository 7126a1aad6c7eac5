"""The platform program: stack config -> PlatformConfig -> Platform -> stack outputs.

Run by `pulumi up --stack <env>` from the repository root, and by `maas plan` offline.
"""

import pulumi
import pulumi_aws as aws

from maas_platform.components.platform import Platform, PlatformArgs
from maas_platform.config import ConfigError, load_platform_config

try:
    config = load_platform_config()
except ConfigError as error:
    # RunError: Pulumi prints the one-line message without a traceback.
    raise pulumi.RunError(str(error)) from None

for warning in config.warnings():
    pulumi.log.warn(warning)

aws_provider = aws.Provider(
    "aws",
    region=config.region,
    # Never act on an account other than the one the stack was written for.
    allowed_account_ids=[config.account_id] if config.account_id else None,
)

platform = Platform(
    config.prefix,
    PlatformArgs(config=config),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)

for key, value in platform.outputs().items():
    pulumi.export(key, value)
