"""The CrossGuard policy pack: every rule of ``maas_platform.policy`` as a Pulumi policy.

Run by the Pulumi CLI (``pulumi preview --policy-pack policies``); ``PolicyPack`` serves the
policies over gRPC and blocks, so this file only builds it. The policies, their enforcement
levels and config schema come from :mod:`maas_platform.policy.crossguard`.
"""

from pulumi_policy import PolicyPack

from maas_platform.policy.crossguard import pack_arguments

PolicyPack(**pack_arguments())
