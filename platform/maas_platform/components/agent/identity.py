"""``AgentIdentity``: who the agent is and what only it holds.

A retired agent (``retired: true``) keeps only what holds its data: the key, its alias and
the secrets, protected (:func:`.common.data_protected`); its role, policy and Pod Identity
association go, and the key policy names the account and AWS services only.

Its IAM role (trusted by EKS Pod Identity or IRSA for the agent's service account and, when
it has secrets, by the token of its namespace's ``secret-sync`` service account, which External
Secrets exchanges for the role), its own KMS key and alias, its
Secrets Manager secrets under that key, and, once the other parts have granted what they
own, the role's one inline policy and the Pod Identity association.
"""

from __future__ import annotations

from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from ... import names
from ...config.agents import AgentSpec, declared_secrets
from ...config.loader import ConfigError
from ..contract import PlatformRefs
from ...iam import Statement, policy_document, pod_identity, trust_policy, web_identity
from ...iam.actions import (
    KEY_ADMIN_ACTIONS, KEY_CRYPTO_ACTIONS, KEY_GRANT_ACTIONS, KEY_USE_ACTIONS, TOPIC_KEY_USE,
)
from ...iam.grants import key_use, secrets_read
from ..base import ComponentArgs
from .common import agent_role_name, data_protected, moved, physical_name, subscribed_topic_arns
from .database import database_log_group_names
from .stores import KEY_SERVICES


class AgentIdentityArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs


class AgentIdentity(pulumi.ComponentResource):
    """The agent's role, key and secrets; :meth:`allow` attaches the role's policy and completes it.

    ``name`` is the AgentService's: the part is ``<name>-identity`` and its children keep the
    names (``<name>-role``, ``<name>-key``, ...) they had as the service's own children.
    """

    role: Optional[aws.iam.Role]  # None for a retired agent
    key: aws.kms.Key
    secrets: dict[str, aws.secretsmanager.Secret]
    role_policy: Optional[aws.iam.RolePolicy] = None

    def __init__(self, name: str, args: AgentIdentityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_IDENTITY, f"{name}-identity", None, opts)
        self._name, self.spec, self.platform = name, args.spec, args.platform
        self._agent = opts.parent if opts is not None else None
        self.physical = physical_name(args.spec, args.platform)
        self.active = args.spec.active
        self.role = self._role() if self.active else None
        # What policies name as the agent: its role's ARN, or, retired, the ARN the role had
        # (a condition value, never a principal, so naming a role that is gone is valid).
        self.role_arn: pulumi.Input[str] = self.role.arn if self.role is not None else \
            args.platform.account.arn("iam", f"role/{agent_role_name(args.spec, args.platform)}", regional=False)
        self.key = self._key()
        self.secrets = self._secrets()

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return moved(self, self._agent, **kwargs)

    # -- the role ---------------------------------------------------------------------------

    def _role(self) -> aws.iam.Role:
        """Trusted by the agent's own workload and, with secrets, by its namespace's secret sync.

        No statement names an AWS principal: nothing that can call ``sts:AssumeRole`` (External
        Secrets included) becomes an agent. A web-identity statement admits a token of one service
        account of one namespace, so a SecretStore of another namespace, whatever it names, can
        never act as this agent.
        """
        platform, spec = self.platform, self.spec
        trusts = []
        if spec.identity == "irsa" or declared_secrets(spec):
            if platform.oidc_provider_arn is None or platform.oidc_issuer is None:
                raise ConfigError(
                    f"agent '{spec.name}': the platform stack exports no oidc_provider_arn; "
                    "update the platform stack first (its cluster's OIDC provider)"
                )
        if spec.identity == "irsa":
            trusts.append(web_identity(platform.oidc_provider_arn, platform.oidc_issuer, spec.namespace, spec.name,
                                       sid="IrsaOfTheAgentServiceAccount"))
        else:
            trusts.append(pod_identity(platform.account.account_id, platform.cluster_arn, spec.namespace, spec.name))
        if declared_secrets(spec):
            trusts.append(web_identity(
                platform.oidc_provider_arn, platform.oidc_issuer, spec.namespace, names.SECRET_SYNC_SERVICE_ACCOUNT,
                sid="SecretSyncOfTheAgentNamespace",
            ))
        return aws.iam.Role(
            f"{self._name}-role",
            name=agent_role_name(spec, platform),
            description=f"Agent {spec.name} (team {spec.team}) in {platform.prefix}",
            assume_role_policy=trust_policy(*trusts),
            max_session_duration=3600,
            # The platform's agent boundary: the most any agent role may be allowed (components/teams.py).
            permissions_boundary=platform.agent_permissions_boundary_arn,
            opts=self._opts(),
        )

    # -- the key ----------------------------------------------------------------------------

    def _key(self) -> aws.kms.Key:
        """The agent's own key: usable by its role, and by AWS services only on the account's behalf.

        ``kms:ViaService`` names every service through which a store the platform creates (or
        the secrets, or the queues) uses the key, whatever this agent's storage kind: changing
        an agent's storage kind leaves its key policy as it is.

        A retired agent's key names no role and no topic: KMS refuses a key policy whose
        principal does not exist ("MalformedPolicyDocumentException - Policy contains a statement
        with one or more invalid principals": repost.aws/knowledge-center/kms-policy-error-invalid-principals,
        checked on 2026-12-03), and its role is gone. The account administers it, and its
        services keep using it for the kept datastore and secrets (an update of the policy,
        the key itself stays).
        """
        account = self.platform.account
        root = {"AWS": account.root_principal}
        statements = [
            Statement(sid="RootAdministersKey", principals=root, actions=KEY_ADMIN_ACTIONS, resources=("*",)),
        ]
        if self.role is not None:
            statements.append(
                Statement(sid="AgentUsesKey", principals={"AWS": self.role.arn}, actions=KEY_USE_ACTIONS, resources=("*",)),
            )
        statements += [
            Statement(
                sid="ServicesOfTheAgentUseKey",
                principals=root,
                actions=KEY_USE_ACTIONS + KEY_GRANT_ACTIONS,
                resources=("*",),
                conditions={"StringEquals": {
                    "kms:CallerAccount": account.account_id,
                    "kms:ViaService": [account.regional_service(s) for s in KEY_SERVICES],
                }},
            ),
        ]
        subscribed = subscribed_topic_arns(self.spec, self.platform) if self.active else []
        if subscribed:
            # SNS encrypts what it delivers into the agent's inbox with the agent's key.
            statements.append(Statement(
                sid="SubscribedTopicsDeliverToInbox",
                principals={"Service": account.service_principal("sns")},
                actions=TOPIC_KEY_USE,
                resources=("*",),
                conditions={"ArnEquals": {"aws:SourceArn": subscribed}},
            ))
        log_groups = database_log_group_names(self.spec, self.platform)
        if log_groups:
            # The database's log groups are encrypted with this key. CloudWatch Logs names the
            # group in the encryption context, so the grant reaches those groups and no others
            # (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html, checked
            # on 2026-12-02: the key policy allows logs.<region>.amazonaws.com with the condition
            # kms:EncryptionContext:aws:logs:arn on the log group's ARN), as the platform's logs key does.
            statements.append(Statement(
                sid="CloudWatchLogsOfTheAgentDatabase",
                principals={"Service": account.regional_service("logs")},
                actions=KEY_CRYPTO_ACTIONS,  # DescribeKey carries no encryption context
                resources=("*",),
                conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": [
                    account.arn("logs", f"log-group:{group}") for group in log_groups
                ]}},
            ))
        key = aws.kms.Key(
            f"{self._name}-key",
            description=f"{self.physical}: data and secrets of agent {self.spec.name}",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            # The environment's window, retired or not: changing it would be a needless update.
            deletion_window_in_days=30 if self.platform.protect_stateful else 7,
            policy=policy_document(*statements),
            opts=self._opts(protect=data_protected(self.spec, self.platform)),
        )
        # Retired, the alias stays with the key it names (by which its data is found again).
        aws.kms.Alias(f"{self._name}-key-alias", name=f"alias/{self.physical}", target_key_id=key.key_id,
                      opts=self._opts(protect=self.spec.lifecycle == names.AGENT_LIFECYCLE_RETIRED))
        return key

    # -- the secrets ------------------------------------------------------------------------

    def _secrets(self) -> dict[str, aws.secretsmanager.Secret]:
        """One secret per declared name, under the agent's path and key; values are put out of band."""
        spec, platform = self.spec, self.platform
        secrets = {}
        for secret in declared_secrets(spec):
            resource = aws.secretsmanager.Secret(
                f"{self._name}-secret-{secret}",
                name=f"{platform.prefix}/agents/{spec.name}/{secret}",
                description=f"{secret} of agent {spec.name}; set its value with put-secret-value",
                kms_key_id=self.key.arn,
                # Unprotected, a destroyed secret is deleted at once: with a recovery window its
                # name stays taken and the next `pulumi up` fails ("scheduled for deletion").
                recovery_window_in_days=30 if platform.protect_stateful else 0,
                opts=self._opts(protect=data_protected(spec, platform)),
            )
            aws.secretsmanager.SecretPolicy(
                f"{self._name}-secret-{secret}-policy",
                secret_arn=resource.arn,
                block_public_policy=True,
                policy=policy_document(Statement(
                    sid="OnlyTheAgentReadsTheValue",
                    effect="Deny",
                    principals={"AWS": "*"},
                    actions=("secretsmanager:GetSecretValue",),
                    resources=("*",),
                    conditions={"StringNotEquals": {"aws:PrincipalArn": self.role_arn}},
                )),
                opts=self._opts(),
            )
            secrets[secret] = resource
        return secrets

    # -- grants -----------------------------------------------------------------------------

    def grant_key_use(self) -> list[Statement]:
        """``OwnKey``: encrypt and decrypt with the agent's key."""
        return key_use(self.key.arn)

    def complete(self) -> None:
        """A retired agent's identity: nothing to attach, its outputs registered."""
        self.register_outputs({"role_arn": None, "key_arn": self.key.arn})

    def grant_read_secrets(self) -> list[Statement]:
        """``OwnSecrets``: read the values of the agent's secrets (none without secrets)."""
        return secrets_read([s.arn for s in self.secrets.values()])

    def allow(self, statements: Sequence[Statement]) -> aws.iam.RolePolicy:
        """Attach ``statements`` (the parts' merged grants) as the role's policy, then bind the
        service account to the role (Pod Identity); this completes the identity."""
        spec, platform = self.spec, self.platform
        assert self.role is not None, "a retired agent has no role to allow anything"
        self.role_policy = aws.iam.RolePolicy(
            f"{self._name}-access",
            role=self.role.id,
            policy=policy_document(*statements),
            opts=self._opts(),
        )
        if spec.identity == "pod-identity":
            aws.eks.PodIdentityAssociation(
                f"{self._name}-pod-identity",
                cluster_name=platform.cluster_name,
                namespace=spec.namespace,
                service_account=spec.name,
                role_arn=self.role.arn,
                # The first credentials a pod gets already carry the role's permissions.
                opts=self._opts(depends_on=[self.role_policy]),
            )
        self.register_outputs({"role_arn": self.role.arn, "key_arn": self.key.arn})
        return self.role_policy
