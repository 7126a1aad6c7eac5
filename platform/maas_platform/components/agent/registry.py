"""``AgentRegistry``: where the agent's images live, who may put them there, and the key that signs them.

Every agent gets, below its AgentService:

* an ECR repository ``<prefix>/<agent>``, encrypted with the agent's own key, whose tags cannot be
  moved once pushed (``sha256-*`` excepted, see :data:`MUTABLE_TAGS`), with a lifecycle policy
  (untagged images go after a day, tagged ones beyond ``delivery.keep_images`` releases);
* a repository policy: the agent's CI role pushes and pulls, the cluster's nodes pull, and a Deny
  refuses every push by anyone else;
* an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) and its alias
  ``alias/<prefix>/<agent>/image-signing``: only the CI role may sign with it, anyone in the account
  may read its public key; it carries ``maas:purpose = image-signing`` so that a verifier's role can
  be scoped by tag;
* with ``delivery.source``, the CI role ``<prefix>-<agent>-ci`` that GitHub Actions assumes through
  the account's OIDC provider, trusted only for the repository's named branches, tag patterns and
  environments, allowed to push to this repository, read its scan findings and sign with its key.

A retired agent keeps its repository (protected, as its data is) and its signing key, so that what
ran can still be pulled and verified; its CI role goes, and with it every push. ``delete_data``
lifts the protection as it does for the data (:func:`.common.data_protected`).
"""

from __future__ import annotations

import json
from typing import Optional

import pulumi
import pulumi_aws as aws

from ... import names
from ...config.agents import AgentSpec
from ...iam import Statement, Trust, policy_document, trust_policy
from ...iam.actions import (
    ECR_LOGIN, ECR_PULL, ECR_PUSH, ECR_SCAN_READ, IMAGE_SIGN, INSPECTOR_FINDINGS_READ, KEY_ADMIN_ACTIONS,
)
from ..base import ComponentArgs, StrInput, child
from ..contract import PlatformRefs
from .common import data_protected

# cosign's signatures of an image live under the tag ``sha256-<digest>.sig`` (attestations ``.att``),
# which cosign rewrites to append a signature: under IMMUTABLE a second signature or an attestation
# of the same image fails (sigstore/cosign#313, "cosign's model of appending signatures won't work"
# with ECR immutable tags; checked 2026-12-03). ECR's IMMUTABLE_WITH_EXCLUSION keeps every other
# tag immutable and lets tags matching a WILDCARD filter move (ECR API ImageTagMutabilityExclusionFilter:
# filterType WILDCARD, pattern [0-9a-zA-Z._*-]{1,128}; pulumi_aws 7.51.1 has
# ``image_tag_mutability_exclusion_filters``, at most 2 wildcards). Only the CI role can push, and a
# moved signature tag can only hold signatures of the CI role's key, which the cluster verifies: the
# exclusion lets a release be signed again, never lets an image's tag point elsewhere.
MUTABLE_TAGS = ("sha256-*",)
# A release is an image and its signature tag (sha256-<digest>.sig): the tagged rule keeps this
# many tagged images per kept release. ECR's lifecycle evaluator counts every image a rule's tag
# patterns select, even one a higher-priority rule already selects (LifecyclePolicies.html,
# "Lifecycle policy evaluation rules", checked 2026-12-03).
TAGGED_PER_RELEASE = 2
# Federated sessions of the release workflow: long enough for build, scan wait and sign.
CI_SESSION_SECONDS = 3600


class AgentRegistryArgs(ComponentArgs):
    spec: AgentSpec
    platform: PlatformRefs
    key_arn: StrInput  # the agent's own key (AgentIdentity.key): encrypts the repository


def lifecycle_policy(keep_images: int) -> str:
    """The repository's lifecycle policy: untagged images expire a day after their push; of the
    tagged ones the newest ``keep_images`` releases stay.

    Rule syntax (ECR user guide, "Lifecycle policy properties", checked 2026-12-03): ``tagStatus
    tagged`` needs ``tagPatternList`` or ``tagPrefixList``; ``untagged`` takes neither; priorities are
    unique, lowest first; ``sinceImagePushed`` counts in ``days``. A rule's ``*`` pattern matches every
    tag, the signature tags included, hence :data:`TAGGED_PER_RELEASE`.
    """
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": "Untagged images (a build's leftovers) go after a day",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"Keep the newest {keep_images} releases (an image and its signature each)",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": keep_images * TAGGED_PER_RELEASE},
         "action": {"type": "expire"}},
    ]})


class AgentRegistry(pulumi.ComponentResource):
    """The agent's repository, signing key and CI role (``name`` is the AgentService's)."""

    repository: aws.ecr.Repository
    signing_key: aws.kms.Key
    ci_role: Optional[aws.iam.Role]

    def __init__(self, name: str, args: AgentRegistryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_AGENT_REGISTRY, f"{name}-registry", None, opts)
        spec, platform = args.spec, args.platform
        self._name, self.spec, self.platform = name, spec, platform
        self.repository_name = names.repository_name(platform.prefix, spec.name)
        protect = data_protected(spec, platform)
        self.ci_role = self._ci_role() if spec.active else None
        self.repository = aws.ecr.Repository(
            f"{name}-repository",
            name=self.repository_name,
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
            image_tag_mutability_exclusion_filters=[{"filter": f, "filter_type": "WILDCARD"} for f in MUTABLE_TAGS],
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.key_arn}],
            # Registry-level enhanced scanning (components/delivery.py) decides; this basic setting is ignored then.
            image_scanning_configuration={"scan_on_push": True},
            # Where stateful resources are not protected, destroying the stack takes the images too.
            force_delete=not protect,
            opts=child(self, protect=protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-repository-lifecycle",
            repository=self.repository.name,
            policy=lifecycle_policy(spec.delivery.keep_images),
            opts=child(self),
        )
        aws.ecr.RepositoryPolicy(
            f"{name}-repository-policy",
            repository=self.repository.name,
            policy=self._repository_policy(),
            opts=child(self),
        )
        self.signing_key = self._signing_key(protect)
        # Retired, the alias stays with the key it names, as the data key's does (identity.py): the
        # release workflow names the key by it (awskms:///<alias>), and so does a later ``cosign verify``.
        self.signing_alias = aws.kms.Alias(
            f"{name}-signing-key-alias",
            name=names.image_signing_alias(platform.prefix, spec.name),
            target_key_id=self.signing_key.key_id,
            opts=child(self, protect=spec.lifecycle == names.AGENT_LIFECYCLE_RETIRED),
        )
        if self.ci_role is not None:
            aws.iam.RolePolicy(f"{name}-ci-access", role=self.ci_role.id, policy=self._ci_policy(), opts=child(self))
        self.register_outputs({
            "repository_url": self.repository.repository_url,
            "ci_role_arn": self.ci_role.arn if self.ci_role is not None else None,
            "signing_key_arn": self.signing_key.arn,
        })

    # -- who pushes: the CI role ----------------------------------------------------------------

    def _ci_role(self) -> Optional[aws.iam.Role]:
        """Trusted by GitHub Actions' tokens for the source repository's named refs only; none
        without ``delivery.source`` or where the environment offers no GitHub OIDC provider."""
        spec, platform = self.spec, self.platform
        source = spec.delivery.source
        if source is None:
            return None
        if platform.github_oidc_provider_arn is None:
            pulumi.log.warn(
                f"agent '{spec.name}': delivery.source: no CI role is created, so nothing can push its images: the "
                "platform stack exports no GitHub OIDC provider or CI permissions boundary (docs/delivery.md)",
                resource=self)
            return None
        return aws.iam.Role(
            f"{self._name}-ci",
            name=names.ci_role_name(platform.prefix, spec.name),
            description=f"Release workflow of {source.repository}: pushes and signs agent {spec.name}'s images",
            assume_role_policy=trust_policy(github_trust(platform.github_oidc_provider_arn, source.subjects())),
            max_session_duration=CI_SESSION_SECONDS,
            # The platform's CI boundary (components/teams.py): a team's deploy role creates CI roles only with it.
            permissions_boundary=platform.ci_permissions_boundary_arn,
            opts=child(self),
        )

    def _ci_policy(self) -> pulumi.Output[str]:
        """Its repository (push, pull, the scan gate's reads) and its signing key; the registry login."""
        repository = self.repository.arn
        return policy_document(
            Statement(sid="RegistryLogin", actions=ECR_LOGIN, resources=("*",),
                      any_resource_reason="GetAuthorizationToken takes no resource (Service Authorization Reference)"),
            Statement(sid="PushAndPullOwnRepository", actions=ECR_PULL + ECR_PUSH, resources=(repository,)),
            Statement(sid="ScanGateReadsFindings", actions=ECR_SCAN_READ, resources=(repository,)),
            Statement(sid="ScanGateReadsInspector", actions=INSPECTOR_FINDINGS_READ, resources=("*",),
                      any_resource_reason="ListFindings and ListCoverage take no resource (Service Authorization "
                                          "Reference); ECR's enhanced-scan findings come from them"),
            Statement(sid="SignWithOwnKey", actions=IMAGE_SIGN, resources=(self.signing_key.arn,)),
        )

    # -- the repository policy ------------------------------------------------------------------

    def _repository_policy(self) -> pulumi.Output[str]:
        """The CI role pushes and pulls; the nodes (and the signature verifier) pull; nobody else pushes.

        Only pushes are denied to everyone else. Amazon Inspector's enhanced scanning reads images
        through its service-linked role, and ECR's documentation says nothing of how a repository
        policy's Deny on pulls treats it (checked 2026-12-03: ECR user guide "IAM permissions
        required for enhanced scanning", Inspector user guide "Scanning Amazon ECR container
        images"): a pull Deny could silently stop the scans the release gate reads. Pulls by others
        in the account stay as their own IAM policies allow.
        """
        platform = self.platform
        statements = []
        ci_arn = self.ci_role.arn if self.ci_role is not None else None
        if ci_arn is not None:
            statements.append(Statement(sid="CiPushesAndPulls", principals={"AWS": ci_arn},
                                        actions=ECR_PULL + ECR_PUSH, resources=("*",)))
        pullers = [*platform.node_role_arns]
        verifier = platform.signature_verifier_role_arn
        if verifier is not None:
            pullers.append(verifier)
        if pullers:
            statements.append(Statement(sid="ClusterPulls", principals={"AWS": pullers}, actions=ECR_PULL,
                                        resources=("*",)))
        statements.append(Statement(
            sid="OnlyTheCiRolePushes", effect="Deny", principals={"AWS": "*"}, actions=ECR_PUSH, resources=("*",),
            # Without a CI role nobody pushes: the Deny holds for every principal.
            conditions={"StringNotEquals": {"aws:PrincipalArn": ci_arn}} if ci_arn is not None else None,
        ))
        return without_resource(policy_document(*statements))

    # -- the signing key ------------------------------------------------------------------------

    def _signing_key(self, protect: bool) -> aws.kms.Key:
        """ECC_NIST_P256 for ECDSA_SHA_256, what cosign's ``awskms://`` keys use by default.

        Asymmetric keys cannot rotate automatically (KMS developer guide, "Rotating AWS KMS keys":
        automatic rotation is for symmetric encryption keys only, checked 2026-12-03), so rotation is
        off; a new key is a new verifying key for the cluster. The account administers it; only the
        CI role signs; the account may read its public key (a public key is public).
        """
        spec, platform = self.spec, self.platform
        account = platform.account
        root = {"AWS": account.root_principal}
        statements = [
            Statement(sid="RootAdministersKey", principals=root, actions=KEY_ADMIN_ACTIONS, resources=("*",)),
            Statement(sid="AccountReadsPublicKey", principals=root, actions=("kms:GetPublicKey",), resources=("*",)),
        ]
        if self.ci_role is not None:
            statements.append(Statement(sid="OnlyTheCiRoleSigns", principals={"AWS": self.ci_role.arn},
                                        actions=IMAGE_SIGN, resources=("*",)))
        return aws.kms.Key(
            f"{self._name}-signing-key",
            description=f"{platform.prefix}-{spec.name}: signs agent {spec.name}'s images (cosign)",
            key_usage="SIGN_VERIFY",
            customer_master_key_spec="ECC_NIST_P256",
            enable_key_rotation=False,
            deletion_window_in_days=30 if platform.protect_stateful else 7,
            policy=policy_document(*statements),
            tags={names.IMAGE_SIGNING_TAG: names.IMAGE_SIGNING_TAG_VALUE},
            opts=child(self, protect=protect),
        )


def without_resource(document: pulumi.Output[str]) -> pulumi.Output[str]:
    """A repository policy as ECR takes it: no ``Resource`` (the policy is the repository's own).
    ECR refuses a repository policy with one ("Invalid repository policy provided":
    awsdocs/amazon-ecr-user-guide#20, aws/aws-cdk#3590, checked 2026-12-03)."""
    def strip(text: str) -> str:
        parsed = json.loads(text)
        for statement in parsed["Statement"]:
            statement.pop("Resource", None)
        return json.dumps(parsed)
    return document.apply(strip)


def github_trust(provider_arn: StrInput, subjects: list[str]) -> Trust:
    """GitHub Actions' tokens for sts.amazonaws.com whose ``sub`` is one of ``subjects``.

    GitHub's subject claim is ``repo:<owner>/<repo>:ref:refs/heads/<branch>``, ``...:ref:refs/tags/<tag>``,
    ``...:environment:<name>`` or ``...:pull_request`` (docs.github.com "OpenID Connect reference",
    example subject claims, checked 2026-12-03); AWS matches it with the condition key
    ``token.actions.githubusercontent.com:sub`` and the audience with ``...:aud`` (IAM user guide,
    "Configuring a role for GitHub OIDC identity provider", checked 2026-12-03). StringLike's ``*``
    matches any characters, ``/`` and ``:`` included (IAM user guide, "Condition operators": wildcards
    "anywhere in the string"): a tag pattern ``v*`` admits every tag starting with ``v``, so the tags
    must be protected by a GitHub tag ruleset; branches are named exactly (config/delivery.py).
    """
    issuer = names.GITHUB_OIDC_URL.removeprefix("https://")
    return Trust(
        sid="GitHubActionsOfTheSourceRepository",
        principal={"Federated": provider_arn},
        actions=("sts:AssumeRoleWithWebIdentity",),
        conditions={
            "StringEquals": {f"{issuer}:aud": names.GITHUB_OIDC_AUDIENCE},
            "StringLike": {f"{issuer}:sub": subjects},
        },
    )
