"""Typed configuration of the platform (the ``maas:`` namespace of a stack config)."""

from .loader import ConfigError, load_platform_config, load_platform_config_file, parse_platform_config, validate
from .models import (
    BrokerConfig,
    BudgetsConfig,
    ClusterConfig,
    EncryptionConfig,
    NetworkConfig,
    NodeGroupConfig,
    ObservabilityConfig,
    PlatformConfig,
)

__all__ = [
    "BrokerConfig", "BudgetsConfig", "ClusterConfig", "ConfigError", "EncryptionConfig", "NetworkConfig",
    "NodeGroupConfig", "ObservabilityConfig", "PlatformConfig", "load_platform_config", "load_platform_config_file",
    "parse_platform_config", "validate",
]
