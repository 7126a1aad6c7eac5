"""Rules over AWS resources: encryption, exposure, IAM, logging, resilience and tags.

Each rule reads the inputs the engine receives (camelCase, as in the plan JSON). Three
conventions hold for all of them:

* a property that is missing, and that AWS then defaults to the insecure value, is a
  violation (an SQS queue without ``kmsMasterKeyId`` is encrypted with an AWS key, or not
  at all);
* ``"[unknown]"`` (a value known only after apply, e.g. the ARN of a key created in the
  same update) counts as set: the rule cannot see it, and the components only ever fill
  such properties with references to the resources they create for that purpose;
* rules over several resources (a bucket and its public access block, a VPC and its flow
  log, a queue and its dead-letter queue) are stack rules; they match resources by the
  names the engine sees (bucket name, queue name, parameter group name), never by
  position.

Framework ids: ``CIS AWS`` is the CIS Amazon Web Services Foundations Benchmark v3.0.0,
``CIS EKS`` the CIS Amazon EKS Benchmark v1.5.0, ``SOC 2`` the 2017 Trust Services
Criteria, ``NIST 800-53`` revision 5.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
import inspect
import json
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from .core import SECRET, UNKNOWN, Context, Finding, Resource, resource_rule, stack_rule

# -- type tokens ----------------------------------------------------------------------------

EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
DYNAMODB_TABLE = "aws:dynamodb/table:Table"
SQS_QUEUE = "aws:sqs/queue:Queue"
SQS_QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
SQS_REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
# ACL grantees that mean everyone, or every AWS account.
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
SECRET_TYPE = "aws:secretsmanager/secret:Secret"
SECRET_POLICY = "aws:secretsmanager/secretPolicy:SecretPolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
EBS_VOLUME = "aws:ebs/volume:Volume"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
MQ_BROKER = "aws:mq/broker:Broker"

# Identity policies (attached to a principal) and resource policies (attached to a resource).
IDENTITY_POLICY_TYPES = (IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, IAM_ROLE)
RESOURCE_POLICY_TYPES = (
    SQS_QUEUE_POLICY, SQS_QUEUE, SNS_TOPIC_POLICY, SNS_TOPIC, S3_BUCKET_POLICY, *S3_BUCKETS, SECRET_POLICY, KMS_KEY,
    KMS_KEY_POLICY, ECR_REPOSITORY_POLICY,
)

# Stateful resources: what they hold cannot be recreated (data, the keys that decrypt it,
# credentials, audit logs, the cluster's etcd). Queues and topics are deliberately not here:
# they carry messages in transit, and a replaced queue loses no durable state.
STATEFUL_TYPES = (
    DYNAMODB_TABLE, RDS_CLUSTER, RDS_INSTANCE, *S3_BUCKETS, KMS_KEY, SECRET_TYPE, LOG_GROUP, EKS_CLUSTER, EBS_VOLUME,
    "aws:efs/fileSystem:FileSystem",
)

# The five EKS control-plane log types (all of them: audit alone misses authenticator denials).
CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

# Actions that accept no resource scope: the Service Authorization Reference lists no
# resource type for them, so ``"Resource": "*"`` is the only way to grant them. Patterns are
# matched case-insensitively; a pattern's exceptions below are Describe APIs that do take a
# resource (an attribute of one volume, image or VPC) and must be scoped.
SCOPELESS_ACTIONS: tuple[str, ...] = (
    "sts:GetCallerIdentity",
    "cloudwatch:DescribeAlarmsForMetric", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricWidgetImage", "cloudwatch:ListMetrics", "cloudwatch:PutMetricData",
    "xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries", "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    "logs:DescribeQueries", "logs:StopQuery", "logs:DescribeLogGroups",
    "ec2:Describe*", "elasticloadbalancing:Describe*", "autoscaling:Describe*",
    "sqs:ListQueues", "sns:ListTopics", "kms:ListKeys", "kms:ListAliases", "secretsmanager:ListSecrets",
    "secretsmanager:GetRandomPassword", "dynamodb:ListTables", "eks:ListClusters", "s3:ListAllMyBuckets",
    "ecr:GetAuthorizationToken", "acm:ListCertificates", "iam:ListServerCertificates", "shield:GetSubscriptionState",
    "shield:CreateProtection", "tag:GetResources", "elasticloadbalancing:SetWebAcl",
)
SCOPED_EXCEPTIONS: tuple[str, ...] = (
    "ec2:DescribeCapacityBlockExtensionOfferings", "ec2:DescribeClientVpnAuthorizationRules",
    "ec2:DescribeClientVpnConnections", "ec2:DescribeClientVpnRoutes", "ec2:DescribeClientVpnTargetNetworks",
    "ec2:DescribeFleetHistory", "ec2:DescribeFleetInstances", "ec2:DescribeFpgaImageAttribute",
    "ec2:DescribeImageAttribute", "ec2:DescribeInstanceAttribute", "ec2:DescribeSecurityGroupReferences",
    "ec2:DescribeSnapshotAttribute", "ec2:DescribeSpotFleetInstances", "ec2:DescribeSpotFleetRequestHistory",
    "ec2:DescribeVolumeAttribute", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpointServicePermissions",
)

# Condition keys that narrow which resources a statement reaches (tags of the resource or of
# the request); service-specific keys (``iam:AWSServiceName``, ``ec2:Vpc``, ``kms:ViaService``)
# constrain the request's target too. Global keys about the caller (``aws:SourceIp``) do not.
RESOURCE_SCOPING_GLOBAL_KEYS = ("aws:resourcetag/", "aws:requesttag/", "aws:resourceaccount", "aws:resourceorgid")

# Condition keys that limit a ``*`` principal of a resource policy to known callers.
PRINCIPAL_LIMITING_KEYS = (
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
    "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths", "aws:sourcevpc",
    "aws:sourcevpce", "aws:userid", "kms:calleraccount",
)

# AWS-managed policies that grant administration of the account or of IAM itself.
ADMIN_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AWSIAMFullAccess")

WORLD_CIDRS = ("0.0.0.0/0", "::/0")
WEB_PORTS = (80, 443)
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
# Interface endpoints a production VPC keeps credentials, keys and images traffic on (plus S3).
PROD_ENDPOINT_SERVICES = ("sts", "kms", "secretsmanager", "ecr.api", "ecr.dkr", "s3")
MIN_BACKUP_RETENTION_DAYS = 7
SQS_DEFAULT_RETENTION_SECONDS = 345_600  # four days


# -- value helpers ---------------------------------------------------------------------------

def is_set(value: Any) -> bool:
    """True for a value that is present (``"[unknown]"`` included)."""
    return value is not None and value != "" and value != [] and value != {}


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def is_true(value: Any) -> bool:
    """True, "true" or a value not known yet."""
    return value is True or (isinstance(value, str) and value.lower() == "true") or is_unknown(value)


def is_false_or_unknown(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false") or is_unknown(value)


def number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def fmt(value: float) -> str:
    """A number as people write it: 7, not 7.0; 1209600, not 1.2096e+06."""
    return str(int(value)) if float(value).is_integer() else str(value)


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def customer_key_problem(value: Any, what: str) -> Optional[str]:
    """Why ``value`` is not a customer-managed KMS key (None when it is one)."""
    if not is_set(value):
        return f"{what} names no customer-managed KMS key, so AWS encrypts it with a key it manages (or not at all)"
    if isinstance(value, str) and "alias/aws/" in value:
        return f"{what} uses the AWS-managed key {value}; use a customer-managed key whose policy and rotation you control"
    return None


def last_segment(arn_or_url: Any, separator: str) -> Optional[str]:
    if not isinstance(arn_or_url, str) or not arn_or_url or is_unknown(arn_or_url):
        return None
    return arn_or_url.rsplit(separator, 1)[-1]


# -- policy documents ------------------------------------------------------------------------

def document(value: Any) -> Optional[Mapping[str, Any]]:
    """A policy document from a JSON string or mapping; None when it cannot be read (unknown)."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or value in (UNKNOWN, SECRET):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping) else None


def statements(doc: Optional[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    if doc is None:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def policy_documents(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every permission document of a resource (not a role's trust policy): ``(where, doc)``."""
    doc = document(resource.props.get("policy"))
    if doc is not None:
        yield "policy", doc
    for index, inline in enumerate(as_list(resource.props.get("inlinePolicies"))):
        if isinstance(inline, Mapping):
            inline_doc = document(inline.get("policy"))
            if inline_doc is not None:
                yield f"inlinePolicies[{index}] ({inline.get('name') or 'unnamed'})", inline_doc


def label(statement: Mapping[str, Any], index: int) -> str:
    return f"statement {statement.get('Sid') or index}"


def principal_values(principal: Any) -> list[str]:
    """Every principal string of a Principal element (``"*"``, ARNs, service names)."""
    if isinstance(principal, str):
        return [principal]
    if isinstance(principal, Mapping):
        return [str(v) for values in principal.values() for v in as_list(values)]
    return [str(v) for v in as_list(principal)]


def condition_keys(statement: Mapping[str, Any]) -> set[str]:
    keys: set[str] = set()
    for operator_values in (statement.get("Condition") or {}).values():
        if isinstance(operator_values, Mapping):
            keys.update(str(key).lower() for key in operator_values)
    return keys


def condition_value(statement: Mapping[str, Any], key: str) -> list[Any]:
    """Values any operator of the statement's Condition gives ``key`` (case-insensitive)."""
    found: list[Any] = []
    for operator_values in (statement.get("Condition") or {}).values():
        if isinstance(operator_values, Mapping):
            for name, value in operator_values.items():
                if str(name).lower() == key.lower():
                    found.extend(as_list(value))
    return found


def is_wildcard_action(action: str) -> bool:
    return "*" in action or "?" in action


@functools.lru_cache(maxsize=None)
def is_scopeless(action: str) -> bool:
    """True when ``action`` takes no resource scope. A pattern (``ec2:Describe*``) counts only
    when it is itself listed: the family is read-only and accepted as a whole; an action named
    one by one is checked against the patterns and the exceptions that do take a resource."""
    lowered = action.lower()
    if lowered in _SCOPED_EXCEPTIONS:
        return False
    if is_wildcard_action(action):
        return lowered in _SCOPELESS
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in _SCOPELESS)


_SCOPELESS = frozenset(a.lower() for a in SCOPELESS_ACTIONS)
_SCOPED_EXCEPTIONS = frozenset(a.lower() for a in SCOPED_EXCEPTIONS)


def scopes_resources(statement: Mapping[str, Any]) -> bool:
    """True when a condition narrows which resources the statement reaches."""
    for key in condition_keys(statement):
        if key.startswith(RESOURCE_SCOPING_GLOBAL_KEYS):
            return True
        if not key.startswith("aws:") and ":" in key:
            return True
    return False


def is_secure_transport_deny(statement: Mapping[str, Any]) -> bool:
    """A Deny of everyone when ``aws:SecureTransport`` is false."""
    if statement.get("Effect") != "Deny" or "*" not in principal_values(statement.get("Principal")):
        return False
    values = condition_value(statement, "aws:SecureTransport")
    return any(v is False or (isinstance(v, str) and v.lower() == "false") for v in values) and bool(
        as_list(statement.get("Action") or statement.get("NotAction"))
    )


def denies_insecure_transport(doc: Optional[Mapping[str, Any]]) -> bool:
    return any(is_secure_transport_deny(s) for s in statements(doc))


# ============================================================================================
# MAAS-SEC: encryption at rest and in transit, keys, instance metadata
# ============================================================================================

@resource_rule(
    "MAAS-SEC-001",
    title="EKS Secrets are envelope-encrypted with a customer-managed KMS key",
    description="The cluster encrypts Kubernetes Secrets in etcd with a customer-managed KMS key "
                "(encryptionConfig with resources [secrets] and a provider key).",
    severity="high",
    remediation="Set encryptionConfig = {resources: [secrets], provider: {keyArn: <platform eks key ARN>}} on the cluster.",
    types=[EKS_CLUSTER],
    frameworks={"CIS EKS": ["5.3.1"], "NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def eks_secrets_encrypted(resource: Resource, context: Context) -> Iterable[str]:
    config = resource.props.get("encryptionConfig")
    configs = [c for c in as_list(config) if isinstance(c, Mapping)]
    if is_unknown(config):
        return
    if not any("secrets" in as_list(c.get("resources")) or is_unknown(c.get("resources")) for c in configs):
        yield "encryptionConfig does not cover 'secrets': Kubernetes Secrets sit in etcd under AWS's default encryption only"
        return
    for c in configs:
        problem = customer_key_problem((c.get("provider") or {}).get("keyArn"), "encryptionConfig.provider.keyArn")
        if problem:
            yield problem


@resource_rule(
    "MAAS-SEC-002",
    title="DynamoDB tables are encrypted with a customer-managed KMS key",
    description="serverSideEncryption is enabled with a kmsKeyArn; without it DynamoDB uses an AWS-owned key.",
    severity="high",
    remediation="Set serverSideEncryption = {enabled: true, kmsKeyArn: <the agent's key ARN>}.",
    types=[DYNAMODB_TABLE],
    frameworks={"NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def dynamodb_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    sse = resource.props.get("serverSideEncryption")
    if is_unknown(sse):
        return
    sse = sse if isinstance(sse, Mapping) else {}
    if not is_true(sse.get("enabled")):
        yield "serverSideEncryption is not enabled: the table is encrypted with an AWS-owned key nobody can audit"
        return
    problem = customer_key_problem(sse.get("kmsKeyArn"), "serverSideEncryption.kmsKeyArn")
    if problem:
        yield problem


@resource_rule(
    "MAAS-SEC-003",
    title="SQS queues are encrypted with a customer-managed KMS key",
    description="kmsMasterKeyId names a customer-managed key; SSE-SQS or no encryption is not enough.",
    severity="high",
    remediation="Set kmsMasterKeyId to the owning agent's key ARN (and leave sqsManagedSseEnabled unset).",
    types=[SQS_QUEUE],
    frameworks={"NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def sqs_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    problem = customer_key_problem(resource.props.get("kmsMasterKeyId"), "kmsMasterKeyId")
    if problem:
        yield problem


@resource_rule(
    "MAAS-SEC-004",
    title="SNS topics are encrypted with a customer-managed KMS key",
    description="kmsMasterKeyId names a customer-managed key; without it messages rest unencrypted.",
    severity="high",
    remediation="Set kmsMasterKeyId to the broker key ARN.",
    types=[SNS_TOPIC],
    frameworks={"NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def sns_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    problem = customer_key_problem(resource.props.get("kmsMasterKeyId"), "kmsMasterKeyId")
    if problem:
        yield problem


def bucket_name(resource: Resource) -> Optional[str]:
    name = resource.props.get("bucket")
    return name if isinstance(name, str) and name and not is_unknown(name) else None


def buckets(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type in S3_BUCKETS]


def for_bucket(bucket: Resource, resources: Sequence[Resource], types: Sequence[str]) -> list[Resource]:
    """The resources of ``types`` that configure ``bucket``: by bucket name, or when the name is
    not known yet, those under the same parent whose bucket is not known either."""
    name = bucket_name(bucket)
    matched = []
    for r in resources:
        if r.type not in types:
            continue
        target = r.props.get("bucket")
        if name is not None and target == name:
            matched.append(r)
        elif name is None and (is_unknown(target) or target is None) and r.parent == bucket.parent:
            matched.append(r)
    return matched


def sse_rule_problem(default: Any) -> Optional[str]:
    default = default if isinstance(default, Mapping) else {}
    algorithm = default.get("sseAlgorithm")
    if not (is_unknown(algorithm) or (isinstance(algorithm, str) and algorithm.startswith("aws:kms"))):
        return f"default encryption is {algorithm or 'SSE-S3'}, not SSE-KMS with a customer-managed key"
    return customer_key_problem(default.get("kmsMasterKeyId"), "default encryption (kmsMasterKeyId)")


@stack_rule(
    "MAAS-SEC-005",
    title="S3 buckets encrypt by default with a customer-managed KMS key",
    description="Every bucket has a server-side encryption configuration (resource or inline) with SSE-KMS "
                "and a customer-managed kmsMasterKeyId.",
    severity="high",
    remediation="Add a BucketServerSideEncryptionConfiguration for the bucket with sseAlgorithm aws:kms, "
                "kmsMasterKeyId <the agent's key ARN> and bucketKeyEnabled true.",
    frameworks={"NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def s3_customer_key(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    for bucket in buckets(resources):
        defaults = []
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        if is_unknown(inline):
            continue
        if isinstance(inline, Mapping):
            defaults += [(rule or {}).get("applyServerSideEncryptionByDefault") for rule in as_list(inline.get("rule"))
                         if isinstance(rule, Mapping)]
        for config in for_bucket(bucket, resources, S3_ENCRYPTION):
            rules = config.props.get("rules")
            if is_unknown(rules):
                defaults.append({"sseAlgorithm": UNKNOWN, "kmsMasterKeyId": UNKNOWN})
            defaults += [r.get("applyServerSideEncryptionByDefault") for r in as_list(rules) if isinstance(r, Mapping)]
        if not defaults:
            yield Finding(bucket.urn, "no server-side encryption configuration: objects get SSE-S3 with an AWS key")
            continue
        for default in defaults:
            problem = sse_rule_problem(default)
            if problem:
                yield Finding(bucket.urn, problem)


@resource_rule(
    "MAAS-SEC-006",
    title="RDS and Aurora storage is encrypted with a customer-managed KMS key",
    description="storageEncrypted is true with a customer-managed kmsKeyId; a managed master password is "
                "encrypted with a customer-managed key too.",
    severity="high",
    remediation="Set storageEncrypted true and kmsKeyId (and masterUserSecretKmsKeyId when manageMasterUserPassword) "
                "to the agent's key ARN.",
    types=[RDS_CLUSTER, RDS_INSTANCE],
    frameworks={"CIS AWS": ["2.3.1"], "NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def rds_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    props = resource.props
    if resource.type == RDS_INSTANCE and is_set(props.get("clusterIdentifier")):
        return  # an instance of a cluster stores nothing of its own: the cluster's encryption applies
    if not is_true(props.get("storageEncrypted")):
        yield "storageEncrypted is not true: the database's storage, snapshots and backups are not encrypted"
        return
    problem = customer_key_problem(props.get("kmsKeyId"), "kmsKeyId")
    if problem:
        yield problem
    if is_true(props.get("manageMasterUserPassword")):
        problem = customer_key_problem(props.get("masterUserSecretKmsKeyId"), "masterUserSecretKmsKeyId")
        if problem:
            yield problem


@resource_rule(
    "MAAS-SEC-007",
    title="Secrets Manager secrets are encrypted with a customer-managed KMS key",
    description="kmsKeyId names a customer-managed key; without it the secret uses aws/secretsmanager, which any "
                "principal of the account with secretsmanager:GetSecretValue can decrypt.",
    severity="high",
    remediation="Set kmsKeyId to the key of the agent (or of the component) that owns the secret.",
    types=[SECRET_TYPE],
    frameworks={"NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def secret_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    problem = customer_key_problem(resource.props.get("kmsKeyId"), "kmsKeyId")
    if problem:
        yield problem


@resource_rule(
    "MAAS-SEC-008",
    title="CloudWatch log groups are encrypted with a customer-managed KMS key",
    description="kmsKeyId names a customer-managed key (the platform logs key); logs carry prompts, payloads and "
                "audit events.",
    severity="medium",
    remediation="Set kmsKeyId to the platform logs key ARN (whose policy admits logs.<region>.amazonaws.com).",
    types=[LOG_GROUP],
    frameworks={"NIST 800-53": ["SC-28", "AU-9"], "SOC 2": ["CC6.1"]},
)
def log_group_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    problem = customer_key_problem(resource.props.get("kmsKeyId"), "kmsKeyId")
    if problem:
        yield problem


def ebs_problems(ebs: Any, where: str) -> Iterator[str]:
    if is_unknown(ebs):
        return
    ebs = ebs if isinstance(ebs, Mapping) else {}
    if not is_true(ebs.get("encrypted")):
        yield f"{where} is not encrypted (encrypted is not true; the account default may be off)"
        return
    problem = customer_key_problem(ebs.get("kmsKeyId"), f"{where}.kmsKeyId")
    if problem:
        yield problem


@resource_rule(
    "MAAS-SEC-009",
    title="EBS volumes are encrypted with a customer-managed KMS key",
    description="Every block device of a launch template or instance, and every EBS volume, is encrypted with a "
                "customer-managed key. A launch template without block device mappings leaves the root volume to the "
                "account's default, which may be unencrypted.",
    severity="high",
    remediation="Map the root device in the launch template: ebs = {encrypted: true, kmsKeyId: <platform ebs key ARN>}.",
    types=[LAUNCH_TEMPLATE, EC2_INSTANCE, EBS_VOLUME],
    frameworks={"CIS AWS": ["2.2.1"], "NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def ebs_customer_key(resource: Resource, context: Context) -> Iterable[str]:
    props = resource.props
    if resource.type == EBS_VOLUME:
        yield from ebs_problems(props, "the volume")
        return
    if resource.type == EC2_INSTANCE:
        yield from ebs_problems(props.get("rootBlockDevice"), "rootBlockDevice")
        for index, device in enumerate(as_list(props.get("ebsBlockDevices"))):
            yield from ebs_problems(device, f"ebsBlockDevices[{index}]")
        return
    mappings = props.get("blockDeviceMappings")
    if is_unknown(mappings):
        return
    ebs_mappings = [m for m in as_list(mappings) if isinstance(m, Mapping) and "ebs" in m]
    if not ebs_mappings:
        yield "no blockDeviceMappings: the root volume's encryption is left to the account default"
        return
    for index, mapping in enumerate(ebs_mappings):
        yield from ebs_problems(mapping.get("ebs"), f"blockDeviceMappings[{index}].ebs")


@resource_rule(
    "MAAS-SEC-010",
    title="Symmetric KMS keys rotate at least yearly",
    description="enableKeyRotation is true on every symmetric encryption key (AWS default: off), and a "
                "rotationPeriodInDays, when set, is at most 365. Asymmetric and HMAC keys cannot rotate.",
    severity="medium",
    remediation="Set enableKeyRotation true (and rotationPeriodInDays 365 or less).",
    types=[KMS_KEY],
    frameworks={"CIS AWS": ["3.6"], "NIST 800-53": ["SC-12"], "SOC 2": ["CC6.1"]},
)
def kms_rotation(resource: Resource, context: Context) -> Iterable[str]:
    props = resource.props
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    usage = props.get("keyUsage") or "ENCRYPT_DECRYPT"
    if spec not in ("SYMMETRIC_DEFAULT", UNKNOWN) or usage not in ("ENCRYPT_DECRYPT", UNKNOWN):
        return
    if not is_true(props.get("enableKeyRotation")):
        yield "enableKeyRotation is not true: the key material never changes"
        return
    period = number(props.get("rotationPeriodInDays"))
    if period is not None and period > 365:
        yield f"rotationPeriodInDays is {fmt(period)}: rotate at least every 365 days"


def metadata_problems(options: Any) -> Iterator[str]:
    if is_unknown(options):
        return
    options = options if isinstance(options, Mapping) else {}
    if options.get("httpEndpoint") == "disabled":
        return
    tokens = options.get("httpTokens")
    if tokens != "required" and not is_unknown(tokens):
        yield (f"metadataOptions.httpTokens is {tokens or 'unset (optional)'}: IMDSv1 answers unauthenticated GETs, "
               "the usual way SSRF steals node credentials; set it to required")
    hops = number(options.get("httpPutResponseHopLimit"))
    if hops is not None and hops > 1:
        yield (f"metadataOptions.httpPutResponseHopLimit is {fmt(hops)}: pods can reach the node's instance role; "
               "use 1 (pods get their own role through Pod Identity)")


@resource_rule(
    "MAAS-SEC-011",
    title="Instances require IMDSv2 and keep instance metadata from pods",
    description="metadataOptions.httpTokens is required (the AWS default is optional) and the PUT response hop "
                "limit is 1, so containers cannot obtain the node's credentials.",
    severity="high",
    remediation="Set metadataOptions = {httpEndpoint: enabled, httpTokens: required, httpPutResponseHopLimit: 1}.",
    types=[LAUNCH_TEMPLATE, EC2_INSTANCE],
    frameworks={"CIS AWS": ["5.6"], "NIST 800-53": ["AC-3", "CM-6"], "SOC 2": ["CC6.1"]},
)
def imds_v2(resource: Resource, context: Context) -> Iterable[str]:
    yield from metadata_problems(resource.props.get("metadataOptions"))


@stack_rule(
    "MAAS-SEC-012",
    title="S3 buckets refuse requests over plain HTTP",
    description="Every bucket's policy (BucketPolicy or inline) denies every principal when aws:SecureTransport "
                "is false.",
    severity="high",
    remediation="Add a BucketPolicy statement: Effect Deny, Principal {AWS: '*'}, the bucket and its objects, "
                "Condition {Bool: {aws:SecureTransport: false}}.",
    frameworks={"CIS AWS": ["2.1.1"], "NIST 800-53": ["SC-8"], "SOC 2": ["CC6.7"]},
)
def s3_tls_only(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    for bucket in buckets(resources):
        policies = [bucket.props.get("policy")] + [p.props.get("policy") for p in for_bucket(bucket, resources, [S3_BUCKET_POLICY])]
        if any(is_unknown(p) for p in policies):
            continue
        if not any(denies_insecure_transport(document(p)) for p in policies):
            yield Finding(bucket.urn, "no bucket policy denies requests without TLS (aws:SecureTransport false)")


def queue_name(resource: Resource) -> Optional[str]:
    name = resource.props.get("name")
    return name if isinstance(name, str) and name and not is_unknown(name) else None


def topic_name(resource: Resource) -> Optional[str]:
    return queue_name(resource)


@stack_rule(
    "MAAS-SEC-013",
    title="SQS queues and SNS topics refuse requests over plain HTTP",
    description="Every queue and topic has a resource policy (QueuePolicy/TopicPolicy or inline) that denies "
                "every principal when aws:SecureTransport is false.",
    severity="medium",
    remediation="Add a DenyPlainHttp statement (Effect Deny, Principal {AWS: '*'}, "
                "Condition {Bool: {aws:SecureTransport: false}}) to the queue's or topic's policy.",
    frameworks={"NIST 800-53": ["SC-8"], "SOC 2": ["CC6.7"]},
)
def messaging_tls_only(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    queue_policies = [r for r in resources if r.type == SQS_QUEUE_POLICY]
    topic_policies = [r for r in resources if r.type == SNS_TOPIC_POLICY]
    for resource in resources:
        if resource.type == SQS_QUEUE:
            name, attached = queue_name(resource), queue_policies
            target_of = lambda p: last_segment(p.props.get("queueUrl"), "/")  # noqa: E731
            unknown_target = lambda p: is_unknown(p.props.get("queueUrl"))  # noqa: E731
        elif resource.type == SNS_TOPIC:
            name, attached = topic_name(resource), topic_policies
            target_of = lambda p: last_segment(p.props.get("arn"), ":")  # noqa: E731
            unknown_target = lambda p: is_unknown(p.props.get("arn"))  # noqa: E731
        else:
            continue
        policies = [resource.props.get("policy")]
        policies += [p.props.get("policy") for p in attached
                     if (name is not None and target_of(p) == name)
                     or ((name is None or unknown_target(p)) and p.parent == resource.parent)]
        if any(is_unknown(p) for p in policies):
            continue
        if not any(denies_insecure_transport(document(p)) for p in policies):
            yield Finding(resource.urn, "no resource policy denies requests without TLS (aws:SecureTransport false)")


# Parameters that make an engine refuse unencrypted connections, by engine family.
TLS_PARAMETERS = {"postgres": ("rds.force_ssl", "1"), "mysql": ("require_secure_transport", "ON")}


def engine_family(engine: Any) -> Optional[str]:
    if not isinstance(engine, str):
        return "postgres"  # the platform's default engine
    if "postgres" in engine:
        return "postgres"
    if "mysql" in engine or "mariadb" in engine:
        return "mysql"
    return None


@stack_rule(
    "MAAS-SEC-014",
    title="Databases refuse unencrypted connections",
    description="Every RDS/Aurora database uses a parameter group that forces TLS (rds.force_ssl = 1 for "
                "PostgreSQL, require_secure_transport = ON for MySQL). A database on the default parameter group "
                "does not.",
    severity="high",
    remediation="Give the cluster its own ClusterParameterGroup with {name: rds.force_ssl, value: '1'} and set "
                "dbClusterParameterGroupName to it.",
    frameworks={"NIST 800-53": ["SC-8", "SC-8(1)"], "SOC 2": ["CC6.7"]},
)
def database_tls(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    groups = {
        RDS_CLUSTER: {r.props.get("name"): r for r in resources if r.type == RDS_CLUSTER_PARAMETER_GROUP},
        RDS_INSTANCE: {r.props.get("name"): r for r in resources if r.type == RDS_PARAMETER_GROUP},
    }
    field = {RDS_CLUSTER: "dbClusterParameterGroupName", RDS_INSTANCE: "parameterGroupName"}
    for db in resources:
        if db.type not in field or (db.type == RDS_INSTANCE and is_set(db.props.get("clusterIdentifier"))):
            continue
        family = engine_family(db.props.get("engine"))
        if family is None:
            continue
        name = db.props.get(field[db.type])
        if is_unknown(name):
            continue
        parameter, wanted = TLS_PARAMETERS[family]
        group = groups[db.type].get(name) if name else None
        if group is None:
            where = f"parameter group {name}, not in this stack," if name else "the default parameter group"
            yield Finding(db.urn, f"{where} does not force TLS: set {parameter} = {wanted} in a parameter group of the stack")
            continue
        values = {str(p.get("name")): str(p.get("value")) for p in as_list(group.props.get("parameters"))
                  if isinstance(p, Mapping)}
        value = values.get(parameter)
        if value is None or (value.upper() != wanted.upper() and value != UNKNOWN):
            yield Finding(db.urn, f"parameter group {name} sets {parameter} = {value or 'nothing'}; it must be {wanted}")


# ============================================================================================
# MAAS-NET: public exposure, endpoints, flow logs, security groups
# ============================================================================================

@resource_rule(
    "MAAS-NET-001",
    title="The EKS API endpoint is private",
    description="vpcConfig.endpointPrivateAccess is true and endpointPublicAccess is false (AWS defaults: private "
                "off, public on to 0.0.0.0/0).",
    severity="critical",
    remediation="Set vpcConfig.endpointPrivateAccess true and endpointPublicAccess false; reach the API from inside "
                "the VPC (CI runner, VPN, bastion). A deliberate public endpoint needs an exemption with its reason.",
    types=[EKS_CLUSTER],
    frameworks={"CIS EKS": ["5.4.1", "5.4.2"], "NIST 800-53": ["SC-7", "AC-3"], "SOC 2": ["CC6.6"]},
)
def eks_private_endpoint(resource: Resource, context: Context) -> Iterable[str]:
    vpc = resource.props.get("vpcConfig")
    if is_unknown(vpc):
        return
    vpc = vpc if isinstance(vpc, Mapping) else {}
    public = vpc.get("endpointPublicAccess")
    if not is_false_or_unknown(public):
        cidrs = as_list(vpc.get("publicAccessCidrs")) or ["0.0.0.0/0"]
        yield f"the API endpoint is public (endpointPublicAccess {public if public is not None else 'unset, default true'}; " \
              f"reachable from {', '.join(map(str, cidrs))})"
    if not is_true(vpc.get("endpointPrivateAccess")):
        yield "endpointPrivateAccess is not true: nodes reach the API through the internet"


@resource_rule(
    "MAAS-NET-002",
    title="Databases are not publicly accessible",
    description="publiclyAccessible is false on every RDS instance and Aurora cluster instance; left unset, AWS may "
                "give the instance a public address.",
    severity="critical",
    remediation="Set publiclyAccessible false and place the database in the private subnets' DB subnet group.",
    types=[RDS_INSTANCE, RDS_CLUSTER_INSTANCE],
    frameworks={"CIS AWS": ["2.3.3"], "NIST 800-53": ["SC-7", "AC-3"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def database_not_public(resource: Resource, context: Context) -> Iterable[str]:
    value = resource.props.get("publiclyAccessible")
    if not is_false_or_unknown(value):
        yield f"publiclyAccessible is {value if value is not None else 'unset'}; it must be false"


@stack_rule(
    "MAAS-NET-003",
    title="S3 buckets block public access",
    description="Every bucket has a BucketPublicAccessBlock with all four settings true, and no public ACL: neither "
                "a public canned ACL on the bucket or a BucketAcl, nor a BucketAcl grant to all users or to every "
                "authenticated AWS account.",
    severity="critical",
    remediation="Add a BucketPublicAccessBlock for the bucket with blockPublicAcls, blockPublicPolicy, "
                "ignorePublicAcls and restrictPublicBuckets all true; drop any public acl.",
    frameworks={"CIS AWS": ["2.1.4"], "NIST 800-53": ["AC-3", "SC-7"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def s3_public_access_block(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    settings = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for bucket in buckets(resources):
        acl = bucket.props.get("acl")
        if acl in PUBLIC_ACLS:
            yield Finding(bucket.urn, f"acl {acl} makes the bucket public")
        for bucket_acl in for_bucket(bucket, resources, S3_BUCKET_ACLS):
            for problem in bucket_acl_problems(bucket_acl):
                yield Finding(bucket_acl.urn, problem)
        blocks = for_bucket(bucket, resources, [S3_PUBLIC_ACCESS_BLOCK])
        if not blocks:
            yield Finding(bucket.urn, "no BucketPublicAccessBlock: a policy or ACL can still make the bucket public")
            continue
        for block in blocks:
            off = [s for s in settings if not is_true(block.props.get(s))]
            if off:
                yield Finding(bucket.urn, f"public access block {block.name} leaves {', '.join(off)} off")


def bucket_acl_problems(bucket_acl: Resource) -> Iterable[str]:
    """What makes a BucketAcl public: a public canned ACL or a grant to a public grantee group."""
    acl = bucket_acl.props.get("acl")
    if acl in PUBLIC_ACLS:
        yield f"BucketAcl {bucket_acl.name} sets acl {acl}, which makes the bucket public"
    for grant in bucket_acl.get("accessControlPolicy.grants") or []:
        grantee = grant.get("grantee") if isinstance(grant, Mapping) else None
        uri = grantee.get("uri") if isinstance(grantee, Mapping) else None
        if uri in PUBLIC_GRANTEES:
            yield (f"BucketAcl {bucket_acl.name} grants {grant.get('permission') or 'access'} to "
                   f"{uri.rsplit('/', 1)[-1]}")


def public_statement_problem(statement: Mapping[str, Any]) -> bool:
    """An Allow to ``*`` (or NotPrincipal) that no condition limits to known callers."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotPrincipal" in statement:
        return True
    if "*" not in principal_values(statement.get("Principal")):
        return False
    return not (condition_keys(statement) & set(PRINCIPAL_LIMITING_KEYS))


@resource_rule(
    "MAAS-NET-004",
    title="Resource policies grant nothing to the public",
    description="No queue, topic, bucket, secret, key or repository policy allows Principal '*' (or uses "
                "NotPrincipal in an Allow) unless a condition limits it to an account, organization, source ARN or "
                "VPC endpoint.",
    severity="critical",
    remediation="Name the principals (role ARNs, the account root, a service) or add a condition on aws:SourceArn, "
                "aws:SourceAccount, aws:PrincipalOrgID or aws:SourceVpce.",
    types=RESOURCE_POLICY_TYPES,
    frameworks={"NIST 800-53": ["AC-3", "AC-6"], "SOC 2": ["CC6.1", "CC6.6"]},
)
def no_public_resource_policy(resource: Resource, context: Context) -> Iterable[str]:
    for where, doc in policy_documents(resource):
        for index, statement in enumerate(statements(doc)):
            if public_statement_problem(statement):
                yield f"{where} {label(statement, index)} allows anyone ('*' principal without a limiting condition)"


def world_open_ports(from_port: Any, to_port: Any, protocol: Any) -> Optional[str]:
    """The port range a world-open rule exposes beyond 80/443, or None when it exposes only those."""
    if str(protocol) in ("-1", "all"):
        return "all ports"
    low, high = number(from_port), number(to_port)
    if low is None or high is None:
        return "all ports" if from_port is None and to_port is None else None
    if low == high and int(low) in WEB_PORTS:
        return None
    return f"ports {fmt(low)}-{fmt(high)}" if low != high else f"port {fmt(low)}"


def ingress_problems(rules: Any) -> Iterator[str]:
    for index, rule in enumerate(as_list(rules)):
        if not isinstance(rule, Mapping):
            continue
        cidrs = [c for c in as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks")) if c in WORLD_CIDRS]
        if not cidrs:
            continue
        exposed = world_open_ports(rule.get("fromPort"), rule.get("toPort"), rule.get("protocol"))
        if exposed:
            yield f"ingress[{index}] opens {exposed} to {', '.join(cidrs)}"


@resource_rule(
    "MAAS-NET-005",
    title="Security groups admit no traffic from the whole internet",
    description="No ingress rule opens a port other than 80 or 443 to 0.0.0.0/0 or ::/0 (inline rules, "
                "SecurityGroupRule and SecurityGroupIngressRule).",
    severity="critical",
    remediation="Allow ingress from the VPC CIDR or from other security groups; expose services through the "
                "load balancer on 443.",
    types=[SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS],
    frameworks={"CIS AWS": ["5.2", "5.3"], "NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def no_world_ingress(resource: Resource, context: Context) -> Iterable[str]:
    props = resource.props
    if resource.type == SECURITY_GROUP:
        yield from ingress_problems(props.get("ingress"))
    elif resource.type == SECURITY_GROUP_RULE:
        if props.get("type") == "ingress":
            yield from (m.replace("ingress[0]", "the rule") for m in ingress_problems([props]))
    else:
        cidr = props.get("cidrIpv4") or props.get("cidrIpv6")
        if cidr in WORLD_CIDRS:
            exposed = world_open_ports(props.get("fromPort"), props.get("toPort"), props.get("ipProtocol"))
            if exposed:
                yield f"the rule opens {exposed} to {cidr}"


@stack_rule(
    "MAAS-NET-006",
    title="The default security group of every VPC denies all traffic",
    description="Every VPC adopts its default security group (DefaultSecurityGroup) with no ingress and no egress "
                "rule; AWS's default group admits traffic between its members and all egress.",
    severity="medium",
    remediation="Declare a DefaultSecurityGroup for the VPC with no ingress and no egress.",
    frameworks={"CIS AWS": ["5.4"], "NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def default_security_group_closed(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    defaults = [r for r in resources if r.type == DEFAULT_SECURITY_GROUP]
    for group in defaults:
        open_rules = [d for d in ("ingress", "egress") if as_list(group.props.get(d))]
        if open_rules:
            yield Finding(group.urn, f"the default security group keeps {' and '.join(open_rules)} rules")
    yield from unmatched_vpcs(resources, defaults, "no DefaultSecurityGroup adopts this VPC's default group, "
                                                   "which admits traffic between its members")


def unmatched_vpcs(resources: Sequence[Resource], covering: Sequence[Resource], message: str) -> Iterator[Finding]:
    """VPCs with no covering resource (flow log, default group). A VPC's ID is not an input, so
    resources are matched per parent component: each VPC of a component needs one covering
    resource with a distinct vpcId in that component."""
    by_parent: dict[Optional[str], list[Resource]] = {}
    for vpc in (r for r in resources if r.type == VPC):
        by_parent.setdefault(vpc.parent, []).append(vpc)
    for parent, vpcs in by_parent.items():
        ids = [r.props.get("vpcId") for r in covering if r.parent == parent and is_set(r.props.get("vpcId"))]
        distinct = len({i for i in ids if not is_unknown(i)}) + sum(1 for i in ids if is_unknown(i))
        for vpc in vpcs[distinct:]:
            yield Finding(vpc.urn, message)


@stack_rule(
    "MAAS-NET-007",
    title="Every VPC records flow logs of all traffic",
    description="Every VPC has a FlowLog (same component, its vpcId) with trafficType ALL, delivered to a "
                "destination.",
    severity="medium",
    remediation="Add a FlowLog with vpcId, trafficType ALL and a log group (retained and encrypted) as destination.",
    frameworks={"CIS AWS": ["3.7"], "NIST 800-53": ["AU-12", "SI-4"], "SOC 2": ["CC7.2"]},
)
def vpc_flow_logs(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    flow_logs = [r for r in resources if r.type == FLOW_LOG]
    complete = []
    for log in flow_logs:
        traffic = log.props.get("trafficType")
        if traffic not in ("ALL", UNKNOWN):
            yield Finding(log.urn, f"trafficType is {traffic or 'unset'}: record ALL traffic, accepted and rejected")
        elif not is_set(log.props.get("logDestination")) and not is_set(log.props.get("logGroupName")):
            yield Finding(log.urn, "the flow log names no destination")
        else:
            complete.append(log)
    yield from unmatched_vpcs(resources, complete, "no flow log records this VPC's traffic")


@resource_rule(
    "MAAS-NET-008",
    title="Subnets do not hand out public IP addresses",
    description="mapPublicIpOnLaunch is not true: nodes live in private subnets, and NAT gateways and load "
                "balancers get their public addresses explicitly.",
    severity="medium",
    remediation="Set mapPublicIpOnLaunch false (the default) on every subnet.",
    types=[SUBNET],
    frameworks={"NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def no_public_ip_on_launch(resource: Resource, context: Context) -> Iterable[str]:
    if resource.props.get("mapPublicIpOnLaunch") is True:
        yield "mapPublicIpOnLaunch is true: every instance launched here is reachable from the internet"


def endpoint_service(name: Any) -> Optional[str]:
    """``com.amazonaws.us-east-1.ecr.api`` -> ``ecr.api``."""
    if not isinstance(name, str) or is_unknown(name):
        return None
    parts = name.split(".")
    return ".".join(parts[3:]) if len(parts) > 3 else None


@stack_rule(
    "MAAS-NET-009",
    title="Production VPCs reach AWS APIs through VPC endpoints",
    description="In prod, the stack's VPC has endpoints for sts, kms, secretsmanager, ecr.api, ecr.dkr and s3, so "
                "credentials, keys, secrets and images never cross the NAT gateway; interface endpoints have "
                "private DNS on.",
    severity="low",
    remediation="Keep maas:network.interface_endpoints on in prod (VpcEndpoint per service, privateDnsEnabled true).",
    frameworks={"NIST 800-53": ["SC-7", "AC-4"], "SOC 2": ["CC6.6"]},
)
def prod_vpc_endpoints(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    if not context.prod:
        return
    endpoints = [r for r in resources if r.type == VPC_ENDPOINT]
    for endpoint in endpoints:
        if endpoint.props.get("vpcEndpointType") == "Interface" and not is_true(endpoint.props.get("privateDnsEnabled")):
            yield Finding(endpoint.urn, "privateDnsEnabled is not true: SDKs keep resolving the public service endpoint")
    services = {endpoint_service(e.props.get("serviceName")) for e in endpoints}
    if any(is_unknown(e.props.get("serviceName")) for e in endpoints):
        return
    for vpc in (r for r in resources if r.type == VPC):
        missing = [s for s in PROD_ENDPOINT_SERVICES if s not in services]
        if missing:
            yield Finding(vpc.urn, f"no VPC endpoint for {', '.join(missing)}")


# ============================================================================================
# MAAS-IAM: least privilege and trust
# ============================================================================================

def permission_statements(resource: Resource) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for where, doc in policy_documents(resource):
        for index, statement in enumerate(statements(doc)):
            yield f"{where} {label(statement, index)}", statement


@resource_rule(
    "MAAS-IAM-001",
    title="Policies allow no wildcard actions",
    description="No Allow statement of an identity or resource policy uses an action with a wildcard ('*', "
                "'sqs:*', 's3:Get*') or NotAction; read-only Describe patterns that take no resource scope "
                "(ec2:Describe*) are the exception. Deny statements may use wildcards.",
    severity="high",
    remediation="List the explicit actions (the grant bundles in maas_platform.iam.grants are kept as data).",
    types=(*IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES),
    frameworks={"CIS AWS": ["1.16"], "NIST 800-53": ["AC-6"], "SOC 2": ["CC6.3"]},
)
def no_wildcard_actions(resource: Resource, context: Context) -> Iterable[str]:
    for where, statement in permission_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            yield f"{where} allows NotAction: everything except a list"
        wild = [a for a in as_list(statement.get("Action")) if isinstance(a, str) and is_wildcard_action(a)
                and not is_scopeless(a)]
        if wild:
            yield f"{where} allows wildcard actions {', '.join(sorted(wild))}"


@resource_rule(
    "MAAS-IAM-002",
    title="Identity policies scope resources wherever the action allows it",
    description="An Allow statement of a role, user or group policy uses Resource '*' (or NotResource) only for "
                "actions that accept no resource scope (the documented SCOPELESS_ACTIONS list) or under a condition "
                "that narrows the resources (resource or request tags, a service-specific key).",
    severity="high",
    remediation="Name the ARNs (the agent's table, queue, key); for actions that take none, keep them in their own "
                "statement. Tag-scoped grants need a condition on aws:ResourceTag/aws:RequestTag.",
    types=IDENTITY_POLICY_TYPES,
    frameworks={"CIS AWS": ["1.16"], "NIST 800-53": ["AC-6"], "SOC 2": ["CC6.3"]},
)
def scoped_resources(resource: Resource, context: Context) -> Iterable[str]:
    for where, statement in permission_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        everything = "NotResource" in statement or "*" in as_list(statement.get("Resource"))
        if not everything or scopes_resources(statement):
            continue
        scopable = sorted(a for a in as_list(statement.get("Action")) if isinstance(a, str) and not is_scopeless(a))
        if scopable:
            yield f"{where} grants {', '.join(scopable)} on every resource ('*'); these actions accept ARNs"


def trust_statements(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    doc = document(resource.props.get("assumeRolePolicy"))
    return [(label(s, i), s) for i, s in enumerate(statements(doc))]


@resource_rule(
    "MAAS-IAM-003",
    title="Role trust policies never trust everyone",
    description="No Allow statement of a role's trust policy has Principal '*' (or {AWS: '*'}) or NotPrincipal, "
                "whatever its conditions: every role names the principals that may assume it.",
    severity="critical",
    remediation="Name the service (pods.eks.amazonaws.com), role ARN or account that assumes the role.",
    types=[IAM_ROLE],
    frameworks={"NIST 800-53": ["AC-3", "AC-6"], "SOC 2": ["CC6.1", "CC6.3"]},
)
def no_public_trust(resource: Resource, context: Context) -> Iterable[str]:
    for where, statement in trust_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            yield f"trust {where} uses NotPrincipal: everyone but a list may assume the role"
        elif "*" in principal_values(statement.get("Principal")):
            yield f"trust {where} lets any principal ('*') assume the role"


@resource_rule(
    "MAAS-IAM-004",
    title="No administrator managed policies",
    description="No role, user or group gets AdministratorAccess, PowerUserAccess or IAM full access.",
    severity="critical",
    remediation="Write an inline policy of the explicit actions on the explicit ARNs the principal needs.",
    types=(*IAM_ATTACHMENTS, IAM_ROLE),
    frameworks={"CIS AWS": ["1.16"], "NIST 800-53": ["AC-6", "AC-6(5)"], "SOC 2": ["CC6.3"]},
)
def no_admin_policies(resource: Resource, context: Context) -> Iterable[str]:
    arns = as_list(resource.props.get("policyArn")) + as_list(resource.props.get("managedPolicyArns"))
    for arn in arns:
        if isinstance(arn, str) and ":iam::aws:policy/" in arn and arn.rsplit("/", 1)[-1] in ADMIN_MANAGED_POLICIES:
            yield f"attaches {arn.rsplit('/', 1)[-1]}, which administers the account"


POD_IDENTITY = "pods.eks.amazonaws.com"


def workload_trust_problem(statement: Mapping[str, Any]) -> Optional[str]:
    principals = principal_values(statement.get("Principal"))
    keys = condition_keys(statement)
    if POD_IDENTITY in principals:
        needed = ("aws:requesttag/kubernetes-namespace", "aws:requesttag/kubernetes-service-account")
        missing = [k for k in needed if k not in keys]
        if missing:
            return f"trusts EKS Pod Identity without conditions on {', '.join(missing)}: any pod of any cluster " \
                   "associated with the role could assume it"
    if any("oidc.eks." in p for p in principals):
        if not any(k.endswith(":sub") for k in keys):
            return "trusts the cluster's OIDC provider without a condition on its :sub (one service account)"
    return None


@resource_rule(
    "MAAS-IAM-005",
    title="Workload roles trust one service account",
    description="A role assumed through EKS Pod Identity conditions its trust on the kubernetes-namespace and "
                "kubernetes-service-account session tags; a role assumed through IRSA conditions on the OIDC "
                "subject. Without them the role is one association away from any pod.",
    severity="high",
    remediation="Build the trust with maas_platform.iam.pod_identity(account, cluster_arn, namespace, service_account).",
    types=[IAM_ROLE],
    frameworks={"CIS EKS": ["5.2.1"], "NIST 800-53": ["AC-6", "IA-2"], "SOC 2": ["CC6.3"]},
)
def workload_trust_scoped(resource: Resource, context: Context) -> Iterable[str]:
    for where, statement in trust_statements(resource):
        if statement.get("Effect") != "Allow":
            continue
        problem = workload_trust_problem(statement)
        if problem:
            yield f"trust {where} {problem}"


# ============================================================================================
# MAAS-LOG: audit and operational logs
# ============================================================================================

@resource_rule(
    "MAAS-LOG-001",
    title="EKS sends all five control-plane log types",
    description="enabledClusterLogTypes lists api, audit, authenticator, controllerManager and scheduler "
                "(AWS default: none).",
    severity="medium",
    remediation="Set enabledClusterLogTypes to all five types and create /aws/eks/<cluster>/cluster first, "
                "retained and encrypted.",
    types=[EKS_CLUSTER],
    frameworks={"CIS EKS": ["2.1.1"], "NIST 800-53": ["AU-2", "AU-12"], "SOC 2": ["CC7.2"]},
)
def eks_control_plane_logs(resource: Resource, context: Context) -> Iterable[str]:
    enabled = resource.props.get("enabledClusterLogTypes")
    if is_unknown(enabled):
        return
    missing = [t for t in CONTROL_PLANE_LOG_TYPES if t not in as_list(enabled)]
    if missing:
        yield f"control-plane log types not sent: {', '.join(missing)}"


@resource_rule(
    "MAAS-LOG-002",
    title="Log groups keep logs for at least the stack's minimum retention, never forever",
    description="retentionInDays is at least the stack's minimum (maas:policy.min_log_retention_days; default dev "
                "7, staging 30, prod 90). A log group without retention never expires: that is a violation too, "
                "because logs then hold payloads and personal data forever at a cost that only grows; retention "
                "must be a decision, written down.",
    severity="medium",
    remediation="Set retentionInDays to a CloudWatch value at least the minimum (e.g. 30, 90, 365).",
    types=[LOG_GROUP],
    frameworks={"NIST 800-53": ["AU-11"], "SOC 2": ["CC7.2"]},
)
def log_retention(resource: Resource, context: Context) -> Iterable[str]:
    value = resource.props.get("retentionInDays")
    if is_unknown(value):
        return
    days = number(value)
    if days is None or days == 0:
        yield f"no retentionInDays: the logs never expire; set at least {context.min_log_retention_days} days"
    elif days < context.min_log_retention_days:
        yield f"retentionInDays is {fmt(days)}, below the stack's minimum of {context.min_log_retention_days}"


# Log exports an engine family needs so that connections, errors and slow statements are kept.
DATABASE_LOG_EXPORTS = {"postgres": ("postgresql",), "mysql": ("error", "audit")}


@resource_rule(
    "MAAS-LOG-003",
    title="Databases export their logs to CloudWatch Logs",
    description="enabledCloudwatchLogsExports includes postgresql (PostgreSQL) or error and audit (MySQL), so "
                "connection and error logs outlive the instance.",
    severity="low",
    remediation="Set enabledCloudwatchLogsExports = [postgresql] on the cluster.",
    types=[RDS_CLUSTER, RDS_INSTANCE],
    frameworks={"NIST 800-53": ["AU-2", "AU-12"], "SOC 2": ["CC7.2"]},
)
def database_log_exports(resource: Resource, context: Context) -> Iterable[str]:
    if resource.type == RDS_INSTANCE and is_set(resource.props.get("clusterIdentifier")):
        return
    family = engine_family(resource.props.get("engine"))
    exports = resource.props.get("enabledCloudwatchLogsExports")
    if family is None or is_unknown(exports):
        return
    missing = [e for e in DATABASE_LOG_EXPORTS[family] if e not in as_list(exports)]
    if missing:
        yield f"enabledCloudwatchLogsExports lacks {', '.join(missing)}"


# ============================================================================================
# MAAS-REL: backups, deletion protection, dead letters, zones
# ============================================================================================

@resource_rule(
    "MAAS-REL-001",
    title="DynamoDB tables have point-in-time recovery",
    description="pointInTimeRecovery.enabled is true (AWS default: off), so a bad write can be rolled back to any "
                "second of the last 35 days.",
    severity="high",
    remediation="Set pointInTimeRecovery = {enabled: true}.",
    types=[DYNAMODB_TABLE],
    frameworks={"NIST 800-53": ["CP-9", "CP-10"], "SOC 2": ["A1.2"]},
)
def dynamodb_pitr(resource: Resource, context: Context) -> Iterable[str]:
    pitr = resource.props.get("pointInTimeRecovery")
    if is_unknown(pitr):
        return
    if not is_true((pitr if isinstance(pitr, Mapping) else {}).get("enabled")):
        yield "pointInTimeRecovery is not enabled"


@resource_rule(
    "MAAS-REL-002",
    title="Databases keep a week of automated backups",
    description=f"backupRetentionPeriod is at least {MIN_BACKUP_RETENTION_DAYS} days (AWS default: 1); in prod a "
                "final snapshot is taken on deletion (skipFinalSnapshot not true; the provider default is false).",
    severity="high",
    remediation=f"Set backupRetentionPeriod >= {MIN_BACKUP_RETENTION_DAYS}; in prod skipFinalSnapshot false and a "
                "finalSnapshotIdentifier.",
    types=[RDS_CLUSTER, RDS_INSTANCE],
    frameworks={"NIST 800-53": ["CP-9"], "SOC 2": ["A1.2"]},
)
def database_backups(resource: Resource, context: Context) -> Iterable[str]:
    props = resource.props
    if resource.type == RDS_INSTANCE and is_set(props.get("clusterIdentifier")):
        return
    value = props.get("backupRetentionPeriod")
    days = number(value)
    if not is_unknown(value) and (days is None or days < MIN_BACKUP_RETENTION_DAYS):
        yield f"backupRetentionPeriod is {f'{fmt(days)}' if days is not None else 'unset (1 day)'}; keep at least " \
              f"{MIN_BACKUP_RETENTION_DAYS} days"
    skip = props.get("skipFinalSnapshot")
    if context.prod and is_true(skip) and not is_unknown(skip):
        yield "skipFinalSnapshot is true: deleting the database leaves no snapshot"


@resource_rule(
    "MAAS-REL-003",
    title="Stateful resources resist deletion in prod",
    description="In prod: databases and EKS clusters have deletionProtection, DynamoDB tables "
                "deletionProtectionEnabled, buckets no forceDestroy, secrets a recovery window, KMS keys a 30-day "
                "deletion window. (Pulumi's protect flag is MAAS-REL-004.)",
    severity="high",
    remediation="Set the resource's deletion guard (deletionProtection / deletionProtectionEnabled true, "
                "forceDestroy false, recoveryWindowInDays >= 7, deletionWindowInDays 30).",
    types=[RDS_CLUSTER, RDS_INSTANCE, DYNAMODB_TABLE, EKS_CLUSTER, *S3_BUCKETS, SECRET_TYPE, KMS_KEY],
    frameworks={"NIST 800-53": ["CP-9", "CM-3"], "SOC 2": ["A1.2", "CC8.1"]},
)
def prod_deletion_protection(resource: Resource, context: Context) -> Iterable[str]:
    if not context.prod:
        return
    props, kind = resource.props, resource.type
    if kind in (RDS_CLUSTER, RDS_INSTANCE, EKS_CLUSTER):
        if kind == RDS_INSTANCE and is_set(props.get("clusterIdentifier")):
            return
        if not is_true(props.get("deletionProtection")):
            yield "deletionProtection is not true"
    elif kind == DYNAMODB_TABLE:
        if not is_true(props.get("deletionProtectionEnabled")):
            yield "deletionProtectionEnabled is not true"
    elif kind in S3_BUCKETS:
        if is_true(props.get("forceDestroy")) and not is_unknown(props.get("forceDestroy")):
            yield "forceDestroy is true: deleting the stack empties the bucket"
    elif kind == SECRET_TYPE:
        window = number(props.get("recoveryWindowInDays"))
        if window is not None and window < 7:
            yield f"recoveryWindowInDays is {fmt(window)}: a deleted secret cannot be restored"
    elif kind == KMS_KEY:
        window = number(props.get("deletionWindowInDays"))
        if window is not None and window < 30:
            yield f"deletionWindowInDays is {fmt(window)}: keep 30 days to cancel a scheduled deletion"


@resource_rule(
    "MAAS-REL-004",
    title="Stateful resources are protected from pulumi destroy in prod",
    description="In prod, every resource that holds state that cannot be recreated (datastores, KMS keys, secrets, "
                "log groups, the EKS cluster, volumes) carries Pulumi's protect option. Queues and topics are "
                "deliberately not required: they carry messages in transit.",
    severity="high",
    remediation="Create the resource with ResourceOptions(protect=True) in prod (protect_stateful).",
    types=STATEFUL_TYPES,
    frameworks={"NIST 800-53": ["CM-3", "CP-9"], "SOC 2": ["CC8.1", "A1.2"]},
)
def prod_protect_flag(resource: Resource, context: Context) -> Iterable[str]:
    if context.prod and not resource.protect:
        yield "not protected: pulumi destroy or a replacement would delete it"


def queues(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == SQS_QUEUE]


def redrive(resource: Resource) -> Any:
    """The queue's redrive policy as a mapping, UNKNOWN, or None."""
    value = resource.props.get("redrivePolicy")
    if is_unknown(value):
        return UNKNOWN
    return document(value)


def dead_letter_names(resources: Sequence[Resource]) -> tuple[set[str], bool]:
    """Names of the queues that are some queue's dead-letter queue, and whether some target is unknown."""
    names: set[str] = set()
    unknown = False
    for queue in queues(resources):
        policy = redrive(queue)
        if policy == UNKNOWN:
            unknown = True
        elif policy is not None:
            target = last_segment(policy.get("deadLetterTargetArn"), ":")
            unknown = unknown or target is None
            if target:
                names.add(target)
        if is_set(queue.props.get("redriveAllowPolicy")):
            names.add(queue_name(queue) or "")
    for allow in (r for r in resources if r.type == SQS_REDRIVE_ALLOW):
        target = last_segment(allow.props.get("queueUrl"), "/")
        unknown = unknown or target is None
        if target:
            names.add(target)
    return names, unknown


@stack_rule(
    "MAAS-REL-005",
    title="Every queue that is not a dead-letter queue has one",
    description="Each SQS queue is either some queue's dead-letter queue or has a redrivePolicy with a "
                "deadLetterTargetArn and a maxReceiveCount, so a poison message cannot loop forever or be lost.",
    severity="medium",
    remediation="Create a DLQ next to the queue and set redrivePolicy = {deadLetterTargetArn, maxReceiveCount: 5}.",
    frameworks={"NIST 800-53": ["CP-10", "SI-11"], "SOC 2": ["A1.2"]},
)
def every_queue_has_dlq(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    dlqs, unknown_target = dead_letter_names(resources)
    for queue in queues(resources):
        policy = redrive(queue)
        if policy == UNKNOWN:
            continue
        if policy is None:
            name = queue_name(queue)
            if (name is not None and name in dlqs) or unknown_target:
                continue
            yield Finding(queue.urn, "no redrivePolicy and no queue uses it as its dead-letter queue")
            continue
        if not is_set(policy.get("deadLetterTargetArn")):
            yield Finding(queue.urn, "redrivePolicy names no deadLetterTargetArn")
        count = number(policy.get("maxReceiveCount"))
        if count is None or count < 1:
            yield Finding(queue.urn, "redrivePolicy sets no maxReceiveCount")


def retention_seconds(queue: Resource) -> Optional[float]:
    value = queue.props.get("messageRetentionSeconds")
    if is_unknown(value):
        return None
    seconds = number(value)
    return SQS_DEFAULT_RETENTION_SECONDS if seconds is None else seconds


@stack_rule(
    "MAAS-REL-006",
    title="Dead-letter queues keep messages longer than their source queue",
    description="A dead-letter queue's messageRetentionSeconds (default four days) is at least its source queue's: "
                "a message keeps its original enqueue time when it moves, so a shorter DLQ retention deletes it "
                "before anyone looks.",
    severity="low",
    remediation="Set the DLQ's messageRetentionSeconds to 14 days (1209600), the maximum.",
    frameworks={"NIST 800-53": ["CP-10"], "SOC 2": ["A1.2"]},
)
def dlq_retention(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    by_name = {queue_name(q): q for q in queues(resources) if queue_name(q)}
    for queue in queues(resources):
        policy = redrive(queue)
        if not isinstance(policy, Mapping):
            continue
        dlq = by_name.get(last_segment(policy.get("deadLetterTargetArn"), ":") or "")
        if dlq is None:
            continue
        source, kept = retention_seconds(queue), retention_seconds(dlq)
        if source is not None and kept is not None and kept < source:
            yield Finding(dlq.urn, f"keeps messages {fmt(kept)}s, less than its source queue {queue.name} ({fmt(source)}s)")


@resource_rule(
    "MAAS-REL-007",
    title="Node groups span three availability zones in prod",
    description="In prod every managed node group lists at least three subnets (one per zone of the VPC) and keeps "
                "at least three nodes, so losing a zone leaves capacity in two others.",
    severity="high",
    remediation="Give the node group the private subnet of every zone and scalingConfig.minSize >= 3.",
    types=[EKS_NODE_GROUP],
    frameworks={"NIST 800-53": ["SC-36", "CP-2"], "SOC 2": ["A1.2"]},
)
def node_groups_multi_az(resource: Resource, context: Context) -> Iterable[str]:
    if not context.prod:
        return
    subnets = resource.props.get("subnetIds")
    if not is_unknown(subnets) and not any(is_unknown(s) for s in as_list(subnets)):
        count = len(set(as_list(subnets)))
        if count < 3:
            yield f"spans {count} subnet(s); prod needs one in each of three zones"
    minimum = number((resource.props.get("scalingConfig") or {}).get("minSize"))
    if minimum is None or minimum < 3:
        yield f"scalingConfig.minSize is {f'{fmt(minimum)}' if minimum is not None else 'unset'}; prod keeps one node per zone (3)"


MULTI_AZ_MQ_MODES = ("ACTIVE_STANDBY_MULTI_AZ", "CLUSTER_MULTI_AZ")


@stack_rule(
    "MAAS-REL-008",
    title="Databases and brokers survive the loss of a zone in prod",
    description="In prod an Aurora cluster has instances in at least two availability zones, an RDS instance is "
                "multiAz, and an Amazon MQ broker runs a multi-AZ deployment mode.",
    severity="high",
    remediation="Add a reader ClusterInstance in another zone (or multiAz true / CLUSTER_MULTI_AZ).",
    frameworks={"NIST 800-53": ["SC-36", "CP-2"], "SOC 2": ["A1.2"]},
)
def prod_multi_az(resources: Sequence[Resource], context: Context) -> Iterable[Finding]:
    if not context.prod:
        return
    instances = [r for r in resources if r.type == RDS_CLUSTER_INSTANCE]
    for cluster in (r for r in resources if r.type == RDS_CLUSTER):
        identifier = cluster.props.get("clusterIdentifier")
        if is_unknown(identifier) or any(is_unknown(i.props.get("clusterIdentifier")) for i in instances):
            continue
        zones = [i.props.get("availabilityZone") for i in instances if i.props.get("clusterIdentifier") == identifier]
        if any(is_unknown(z) for z in zones):
            continue
        distinct = {z for z in zones if z}
        unplaced = sum(1 for z in zones if not z)  # AWS places those; count them only toward a second zone
        if len(zones) < 2 or len(distinct) + min(unplaced, 1) < 2:
            yield Finding(cluster.urn, f"{len(zones)} instance(s) in {len(distinct) or 'no fixed'} zone(s): add a reader "
                                       "in another zone")
    for db in (r for r in resources if r.type == RDS_INSTANCE and not is_set(r.props.get("clusterIdentifier"))):
        if not is_true(db.props.get("multiAz")):
            yield Finding(db.urn, "multiAz is not true")
    for broker in (r for r in resources if r.type == MQ_BROKER):
        mode = broker.props.get("deploymentMode")
        if mode not in MULTI_AZ_MQ_MODES and not is_unknown(mode):
            yield Finding(broker.urn, f"deploymentMode is {mode or 'SINGLE_INSTANCE'}; use {' or '.join(MULTI_AZ_MQ_MODES)}")


# ============================================================================================
# MAAS-TAG: cost attribution and ownership
# ============================================================================================

@functools.lru_cache(maxsize=None)
def sdk_class(type_token: str) -> Optional[type]:
    """The pulumi_aws class of a type token (``aws:eks/cluster:Cluster`` -> ``pulumi_aws.eks.Cluster``).

    The service package is imported as a whole, then asked for the class: importing the
    class's own module first leaves the lazily loaded package without its members, which
    breaks any Pulumi program that runs later in the same process."""
    try:
        package, module, name = type_token.split(":")
    except ValueError:
        return None
    if package != "aws":
        return None
    service = module.split("/")[0]
    try:
        found = getattr(importlib.import_module("pulumi_aws" if service == "index" else f"pulumi_aws.{service}"), name, None)
    except ImportError:
        return None
    return found if inspect.isclass(found) else None


@functools.lru_cache(maxsize=None)
def is_taggable(type_token: str) -> bool:
    """Whether the provider SDK gives the type a ``tags`` map (the test the tag transformation uses)."""
    from ..tagging import accepts_tag_map

    cls = sdk_class(type_token)
    return cls is not None and accepts_tag_map(cls)


@resource_rule(
    "MAAS-TAG-001",
    title="Taggable AWS resources carry the required tags",
    description="Every AWS resource whose type takes a tags map (read from the provider SDK, as the tag "
                "transformation does) carries the stack's required tags (environment, team, cost-center, "
                "managed-by) with non-empty values; budgets and cost reports group by them.",
    severity="low",
    remediation="Set the missing keys through the component's tag transformation (maas:tags for platform-wide "
                "keys; an agent's team and cost_center for its resources).",
    types=["aws:*"],
    frameworks={"NIST 800-53": ["CM-8"], "SOC 2": ["CC6.1"]},
)
def required_tags(resource: Resource, context: Context) -> Iterable[str]:
    if not is_taggable(resource.type):
        return
    tags = resource.props.get("tags")
    if is_unknown(tags):
        return
    tags = tags if isinstance(tags, Mapping) else {}
    missing = [key for key in context.required_tags if not is_set(tags.get(key))]
    if missing:
        yield f"missing tags: {', '.join(missing)}"
