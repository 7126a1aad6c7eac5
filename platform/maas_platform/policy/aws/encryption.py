"""MAAS-SEC: encryption at rest with customer-managed keys, key rotation, TLS only, instance metadata.

The rules that ask one property of one resource for a customer-managed KMS key (DynamoDB,
SQS, SNS, RDS, Secrets Manager, log groups) are made by one factory,
:func:`customer_key_rule`; the others read several resources or several properties.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

from ... import names
from ..core import (
    UNKNOWN, Context, Finding, NotEvaluable, Outcome, Resource, ResourceCheck, Severity, resource_rule, stack_rule,
)
from .helpers import (
    S3_ENCRYPTION, as_list, buckets, configuring, customer_key_problem, denies_insecure_transport, document,
    engine_family, fmt, for_bucket, is_cluster_member, is_true, is_unknown, mapping, number, pairing, undecided,
)

# Parameters that make an engine refuse unencrypted connections, by engine family.
TLS_PARAMETERS = {"postgres": ("rds.force_ssl", "1"), "mysql": ("require_secure_transport", "ON")}


def _settled(outcomes: list[Outcome], flag: Optional[str]) -> Iterator[Outcome]:
    """``outcomes`` of a key check made while the flag that turns encryption on (``flag``, a
    property) is not known: a problem with the key is a violation whether the flag ends up true
    (then the key is wrong) or false (then nothing is encrypted); only a sound key waits for it."""
    if flag is not None and not any(isinstance(outcome, str) for outcome in outcomes):
        outcomes = [*outcomes, NotEvaluable(flag)]
    yield from outcomes


def customer_key_rule(
    id: str, *, types: Sequence[str], key: str, title: str, description: str, remediation: str,
    frameworks: Mapping[str, Sequence[str]], severity: Severity = "high",
    enabled: Optional[tuple[str, str]] = None, also: Sequence[tuple[str, str]] = (),
    applies: Callable[[Resource], bool] = lambda resource: True,
) -> ResourceCheck:
    """Register rule ``id``: the resources of ``types`` name a customer-managed KMS key at the
    property path ``key`` (``"serverSideEncryption.kmsKeyArn"``).

    ``enabled`` is ``(path, message)`` of a flag that must be true first (``message`` when it
    is not); each ``(condition, path)`` of ``also`` is a further key required when the flag
    ``condition`` is true; ``applies`` leaves some resources of ``types`` to another rule.
    Returns the check, registered with the metadata given."""

    def key_outcomes(resource: Resource, path: str) -> Iterator[Outcome]:
        parent = resource.unknown_at(path)
        if parent and parent != path:
            yield NotEvaluable(parent)
            return
        problem = customer_key_problem(resource.get(path, ""), path)
        if problem:
            yield problem

    def check(resource: Resource, context: Context) -> Iterator[Outcome]:
        if not applies(resource):
            return
        unknown_flag = None
        if enabled is not None:
            path, message = enabled
            unknown_flag = resource.unknown_at(path)
            if unknown_flag is None and not is_true(resource.get(path)):
                yield message
                return
        outcomes = list(key_outcomes(resource, key))
        for condition, path in also:
            unknown = resource.unknown_at(condition)
            if unknown is not None:
                # A sound key passes whatever the condition; anything else depends on it.
                outcomes += [NotEvaluable(unknown)] if any(key_outcomes(resource, path)) else []
            elif is_true(resource.get(condition)):
                outcomes += key_outcomes(resource, path)
        yield from _settled(outcomes, unknown_flag)

    check.__name__ = check.__qualname__ = f"customer_key_{id.lower().replace('-', '_')}"
    return resource_rule(id, title=title, description=description, severity=severity, remediation=remediation,
                         types=types, frameworks=frameworks)(check)


KEY_FRAMEWORKS = {"NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]}


@resource_rule(
    "MAAS-SEC-001",
    title="EKS Secrets are envelope-encrypted with a customer-managed KMS key",
    description="The cluster encrypts Kubernetes Secrets in etcd with a customer-managed KMS key "
                "(encryptionConfig with resources [secrets] and a provider key).",
    severity="high",
    remediation="Set encryptionConfig = {resources: [secrets], provider: {keyArn: <platform eks key ARN>}} on the cluster.",
    types=[names.EKS_CLUSTER],
    frameworks={"CIS EKS": ["5.3.1"], "NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def eks_secrets_encrypted(resource: Resource, context: Context) -> Iterable[Outcome]:
    config = resource.props.get("encryptionConfig")
    if is_unknown(config):
        yield NotEvaluable("encryptionConfig")
        return
    configs = [c for c in as_list(config) if isinstance(c, Mapping)]
    covered = any("secrets" in as_list(c.get("resources")) for c in configs)
    undecided = not covered and any(is_unknown(c.get("resources")) for c in configs)
    if not covered and not undecided:
        yield "encryptionConfig does not cover 'secrets': Kubernetes Secrets sit in etcd under AWS's default encryption only"
        return
    outcomes: list[Outcome] = []
    for c in configs:
        provider = c.get("provider")
        if is_unknown(provider):
            outcomes.append(NotEvaluable("encryptionConfig.provider"))
            continue
        problem = customer_key_problem(mapping(provider).get("keyArn"), "encryptionConfig.provider.keyArn")
        if problem:
            outcomes.append(problem)
    yield from _settled(outcomes, "encryptionConfig.resources" if undecided else None)


dynamodb_customer_key = customer_key_rule(
    "MAAS-SEC-002",
    title="DynamoDB tables are encrypted with a customer-managed KMS key",
    description="serverSideEncryption is enabled with a kmsKeyArn; without it DynamoDB uses an AWS-owned key.",
    remediation="Set serverSideEncryption = {enabled: true, kmsKeyArn: <the agent's key ARN>}.",
    types=[names.DYNAMODB_TABLE],
    key="serverSideEncryption.kmsKeyArn",
    enabled=("serverSideEncryption.enabled",
             "serverSideEncryption is not enabled: the table is encrypted with an AWS-owned key nobody can audit"),
    frameworks=KEY_FRAMEWORKS,
)

sqs_customer_key = customer_key_rule(
    "MAAS-SEC-003",
    title="SQS queues are encrypted with a customer-managed KMS key",
    description="kmsMasterKeyId names a customer-managed key; SSE-SQS or no encryption is not enough.",
    remediation="Set kmsMasterKeyId to the owning agent's key ARN (and leave sqsManagedSseEnabled unset).",
    types=[names.SQS_QUEUE],
    key="kmsMasterKeyId",
    frameworks=KEY_FRAMEWORKS,
)

sns_customer_key = customer_key_rule(
    "MAAS-SEC-004",
    title="SNS topics are encrypted with a customer-managed KMS key",
    description="kmsMasterKeyId names a customer-managed key; without it messages rest unencrypted.",
    remediation="Set kmsMasterKeyId to the broker key ARN.",
    types=[names.SNS_TOPIC],
    key="kmsMasterKeyId",
    frameworks=KEY_FRAMEWORKS,
)


def sse_rule_problem(default: Any, where: str) -> Optional[Outcome]:
    """What is wrong with one default-encryption rule of a bucket (``where``: its property path)."""
    if is_unknown(default):
        return NotEvaluable(where)
    default = mapping(default)
    algorithm = default.get("sseAlgorithm")
    key = customer_key_problem(default.get("kmsMasterKeyId"), "default encryption (kmsMasterKeyId)",
                               f"{where}.kmsMasterKeyId")
    if is_unknown(algorithm):
        return key if isinstance(key, str) else NotEvaluable(f"{where}.sseAlgorithm")
    if not (isinstance(algorithm, str) and algorithm.startswith("aws:kms")):
        return f"default encryption is {algorithm or 'SSE-S3'}, not SSE-KMS with a customer-managed key"
    return key


def bucket_encryption(bucket: Resource, resources: Sequence[Resource]) -> Iterator[Union[Finding, NotEvaluable]]:
    """The default-encryption rules of a bucket (inline, or resources configuring it), judged."""
    inline = bucket.props.get("serverSideEncryptionConfiguration")
    if is_unknown(inline):
        yield NotEvaluable("serverSideEncryptionConfiguration", bucket.urn)
        return
    defaults: list[tuple[str, str, Any]] = []  # (urn, where, applyServerSideEncryptionByDefault)
    if isinstance(inline, Mapping):
        defaults += [(bucket.urn, f"serverSideEncryptionConfiguration.rule[{i}].applyServerSideEncryptionByDefault",
                      rule.get("applyServerSideEncryptionByDefault"))
                     for i, rule in enumerate(as_list(inline.get("rule"))) if isinstance(rule, Mapping)]
    configs, unsure = for_bucket(bucket, resources, S3_ENCRYPTION)
    for config in configs:
        rules = config.props.get("rules")
        if is_unknown(rules):
            defaults.append((config.urn, "rules", UNKNOWN))
        defaults += [(config.urn, f"rules[{i}].applyServerSideEncryptionByDefault",
                      r.get("applyServerSideEncryptionByDefault"))
                     for i, r in enumerate(as_list(rules)) if isinstance(r, Mapping)]
    if not defaults:
        yield from undecided(unsure, "bucket") or [
            Finding(bucket.urn, "no server-side encryption configuration: objects get SSE-S3 with an AWS key")]
        return
    for urn, where, default in defaults:
        problem = sse_rule_problem(default, where)
        if isinstance(problem, NotEvaluable):
            yield problem.at(urn)
        elif problem:
            yield Finding(bucket.urn, problem)


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
def s3_customer_key(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    for bucket in buckets(resources):
        yield from bucket_encryption(bucket, resources)


rds_customer_key = customer_key_rule(
    "MAAS-SEC-006",
    title="RDS and Aurora storage is encrypted with a customer-managed KMS key",
    description="storageEncrypted is true with a customer-managed kmsKeyId; a managed master password is "
                "encrypted with a customer-managed key too.",
    remediation="Set storageEncrypted true and kmsKeyId (and masterUserSecretKmsKeyId when manageMasterUserPassword) "
                "to the agent's key ARN.",
    types=[names.RDS_CLUSTER, names.RDS_INSTANCE],
    key="kmsKeyId",
    enabled=("storageEncrypted",
             "storageEncrypted is not true: the database's storage, snapshots and backups are not encrypted"),
    also=[("manageMasterUserPassword", "masterUserSecretKmsKeyId")],
    applies=lambda resource: not is_cluster_member(resource),
    frameworks={"CIS AWS": ["2.3.1"], **KEY_FRAMEWORKS},
)

secret_customer_key = customer_key_rule(
    "MAAS-SEC-007",
    title="Secrets Manager secrets are encrypted with a customer-managed KMS key",
    description="kmsKeyId names a customer-managed key; without it the secret uses aws/secretsmanager, which any "
                "principal of the account with secretsmanager:GetSecretValue can decrypt.",
    remediation="Set kmsKeyId to the key of the agent (or of the component) that owns the secret.",
    types=[names.SECRETSMANAGER_SECRET],
    key="kmsKeyId",
    frameworks=KEY_FRAMEWORKS,
)

log_group_customer_key = customer_key_rule(
    "MAAS-SEC-008",
    title="CloudWatch log groups are encrypted with a customer-managed KMS key",
    description="kmsKeyId names a customer-managed key (the platform logs key); logs carry prompts, payloads and "
                "audit events.",
    severity="medium",
    remediation="Set kmsKeyId to the platform logs key ARN (whose policy admits logs.<region>.amazonaws.com).",
    types=[names.CLOUDWATCH_LOG_GROUP],
    key="kmsKeyId",
    frameworks={"NIST 800-53": ["SC-28", "AU-9"], "SOC 2": ["CC6.1"]},
)


def ebs_problems(ebs: Any, where: str, path: str) -> Iterator[Outcome]:
    """What is wrong with one EBS block device (``where`` names it in messages, ``path`` is its
    property path, empty for a volume's own properties)."""
    prefix = f"{path}." if path else ""
    if is_unknown(ebs):
        yield NotEvaluable(path)
        return
    ebs = mapping(ebs)
    encrypted = ebs.get("encrypted")
    if not is_unknown(encrypted) and not is_true(encrypted):
        yield f"{where} is not encrypted (encrypted is not true; the account default may be off)"
        return
    key = customer_key_problem(ebs.get("kmsKeyId"), f"{where}.kmsKeyId", f"{prefix}kmsKeyId")
    yield from _settled([key] if key else [], f"{prefix}encrypted" if is_unknown(encrypted) else None)


@resource_rule(
    "MAAS-SEC-009",
    title="EBS volumes are encrypted with a customer-managed KMS key",
    description="Every block device of a launch template or instance, and every EBS volume, is encrypted with a "
                "customer-managed key. A launch template without block device mappings leaves the root volume to the "
                "account's default, which may be unencrypted.",
    severity="high",
    remediation="Map the root device in the launch template: ebs = {encrypted: true, kmsKeyId: <platform ebs key ARN>}.",
    types=[names.EC2_LAUNCH_TEMPLATE, names.EC2_INSTANCE, names.EBS_VOLUME],
    frameworks={"CIS AWS": ["2.2.1"], "NIST 800-53": ["SC-28", "SC-12"], "SOC 2": ["CC6.1"]},
)
def ebs_customer_key(resource: Resource, context: Context) -> Iterable[Outcome]:
    props = resource.props
    if resource.type == names.EBS_VOLUME:
        yield from ebs_problems(props, "the volume", "")
        return
    if resource.type == names.EC2_INSTANCE:
        yield from ebs_problems(props.get("rootBlockDevice"), "rootBlockDevice", "rootBlockDevice")
        devices = props.get("ebsBlockDevices")
        if is_unknown(devices):
            yield NotEvaluable("ebsBlockDevices")
            return
        for index, device in enumerate(as_list(devices)):
            yield from ebs_problems(device, f"ebsBlockDevices[{index}]", f"ebsBlockDevices[{index}]")
        return
    mappings = props.get("blockDeviceMappings")
    if is_unknown(mappings):
        yield NotEvaluable("blockDeviceMappings")
        return
    unknown = [i for i, m in enumerate(as_list(mappings)) if is_unknown(m)]
    ebs_mappings = [m for m in as_list(mappings) if isinstance(m, Mapping) and "ebs" in m]
    if not ebs_mappings:
        if unknown:
            yield from (NotEvaluable(f"blockDeviceMappings[{i}]") for i in unknown)
        else:
            yield "no blockDeviceMappings: the root volume's encryption is left to the account default"
        return
    for index, mapping_ in enumerate(ebs_mappings):
        where = f"blockDeviceMappings[{index}].ebs"
        yield from ebs_problems(mapping_.get("ebs"), where, where)


SYMMETRIC_SPEC, ENCRYPTION_USAGE = "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"


@resource_rule(
    "MAAS-SEC-010",
    title="Symmetric KMS keys rotate at least yearly",
    description="enableKeyRotation is true on every symmetric encryption key (AWS default: off), and a "
                "rotationPeriodInDays, when set, is at most 365. Asymmetric and HMAC keys cannot rotate.",
    severity="medium",
    remediation="Set enableKeyRotation true (and rotationPeriodInDays 365 or less).",
    types=[names.KMS_KEY],
    frameworks={"CIS AWS": ["3.6"], "NIST 800-53": ["SC-12"], "SOC 2": ["CC6.1"]},
)
def kms_rotation(resource: Resource, context: Context) -> Iterable[Outcome]:
    props = resource.props
    spec_key = "customerMasterKeySpec" if props.get("customerMasterKeySpec") else "keySpec"
    spec = props.get(spec_key) or SYMMETRIC_SPEC
    usage = props.get("keyUsage") or ENCRYPTION_USAGE
    if spec not in (SYMMETRIC_SPEC, UNKNOWN) or usage not in (ENCRYPTION_USAGE, UNKNOWN):
        return
    # Whether the key can rotate at all, when that is not known yet.
    undecided = spec_key if spec == UNKNOWN else ("keyUsage" if usage == UNKNOWN else None)
    rotation = props.get("enableKeyRotation")
    if is_unknown(rotation):
        yield NotEvaluable("enableKeyRotation")
        return
    if not is_true(rotation):
        yield NotEvaluable(undecided) if undecided else "enableKeyRotation is not true: the key material never changes"
        return
    value = props.get("rotationPeriodInDays")
    if is_unknown(value):
        yield NotEvaluable("rotationPeriodInDays")
        return
    period = number(value)
    if period is not None and period > 365:
        yield f"rotationPeriodInDays is {fmt(period)}: rotate at least every 365 days"


def metadata_problems(options: Any) -> Iterator[Outcome]:
    if is_unknown(options):
        yield NotEvaluable("metadataOptions")
        return
    options = mapping(options)
    endpoint = options.get("httpEndpoint")
    if endpoint == "disabled":
        return
    found: list[Outcome] = []
    tokens = options.get("httpTokens")
    if is_unknown(tokens):
        found.append(NotEvaluable("metadataOptions.httpTokens"))
    elif tokens != "required":
        found.append(f"metadataOptions.httpTokens is {tokens or 'unset (optional)'}: IMDSv1 answers unauthenticated "
                     "GETs, the usual way SSRF steals node credentials; set it to required")
    value = options.get("httpPutResponseHopLimit")
    hops = number(value)
    if is_unknown(value):
        found.append(NotEvaluable("metadataOptions.httpPutResponseHopLimit"))
    elif hops is not None and hops > 1:
        found.append(f"metadataOptions.httpPutResponseHopLimit is {fmt(hops)}: pods can reach the node's instance "
                     "role; use 1 (pods get their own role through Pod Identity)")
    if is_unknown(endpoint) and found:
        found = [NotEvaluable("metadataOptions.httpEndpoint")]  # a disabled endpoint answers nothing
    yield from found


@resource_rule(
    "MAAS-SEC-011",
    title="Instances require IMDSv2 and keep instance metadata from pods",
    description="metadataOptions.httpTokens is required (the AWS default is optional) and the PUT response hop "
                "limit is 1, so containers cannot obtain the node's credentials.",
    severity="high",
    remediation="Set metadataOptions = {httpEndpoint: enabled, httpTokens: required, httpPutResponseHopLimit: 1}.",
    types=[names.EC2_LAUNCH_TEMPLATE, names.EC2_INSTANCE],
    frameworks={"CIS AWS": ["5.6"], "NIST 800-53": ["AC-3", "CM-6"], "SOC 2": ["CC6.1"]},
)
def imds_v2(resource: Resource, context: Context) -> Iterable[Outcome]:
    yield from metadata_problems(resource.props.get("metadataOptions"))


def tls_only(resource: Resource, policies: Sequence[tuple[str, Any]], message: str,
             unsure: Sequence[tuple[Resource, str]] = ()) -> Iterator[Union[Finding, NotEvaluable]]:
    """A finding on ``resource`` unless one of its policies (``(urn, policy)``) denies plain HTTP;
    not evaluable when none that is known does and some are not known yet, or when a policy
    resource that would (or may) deny it names a resource not known yet (``unsure``: the
    resource and the input that names what it applies to)."""
    if any(denies_insecure_transport(document(policy)) for _, policy in policies):
        return
    unknown = [NotEvaluable("policy", urn) for urn, policy in policies if is_unknown(policy)]
    unknown += [NotEvaluable(path, other.urn) for other, path in unsure
                if is_unknown(other.props.get("policy")) or denies_insecure_transport(document(other.props.get("policy")))]
    yield from unknown or [Finding(resource.urn, message)]


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
def s3_tls_only(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    for bucket in buckets(resources):
        attached, unsure = for_bucket(bucket, resources, [names.S3_BUCKET_POLICY])
        policies = [(bucket.urn, bucket.props.get("policy"))] + [(p.urn, p.props.get("policy")) for p in attached]
        yield from tls_only(bucket, policies, "no bucket policy denies requests without TLS (aws:SecureTransport false)",
                            [(p, "bucket") for p in unsure])


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
def messaging_tls_only(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    # The policy resource of each kind, and the input that names the queue or topic it applies to.
    attached_by = {names.SQS_QUEUE: (names.SQS_QUEUE_POLICY, "queueUrl"), names.SNS_TOPIC: (names.SNS_TOPIC_POLICY, "arn")}
    for resource in resources:
        if resource.type not in attached_by:
            continue
        policy_type, path = attached_by[resource.type]
        attached, unsure = configuring(resource, resources, [policy_type], path)
        policies = [(resource.urn, resource.props.get("policy"))] + [(p.urn, p.props.get("policy")) for p in attached]
        yield from tls_only(resource, policies, "no resource policy denies requests without TLS (aws:SecureTransport false)",
                            [(p, path) for p in unsure])


def parameter_value(group: Resource, parameter: str) -> Union[str, None, NotEvaluable]:
    """The value a parameter group gives ``parameter`` (None when it sets none)."""
    parameters = group.props.get("parameters")
    if is_unknown(parameters):
        return NotEvaluable("parameters", group.urn)
    for index, entry in enumerate(as_list(parameters)):
        if isinstance(entry, Mapping) and str(entry.get("name")) == parameter:
            value = entry.get("value")
            return NotEvaluable(f"parameters[{index}].value", group.urn) if is_unknown(value) else str(value)
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
def database_tls(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    group_types = {names.RDS_CLUSTER: names.RDS_CLUSTER_PARAMETER_GROUP, names.RDS_INSTANCE: names.RDS_PARAMETER_GROUP}
    groups = {kind: [r for r in resources if r.type == group_type] for kind, group_type in group_types.items()}
    field = {names.RDS_CLUSTER: "dbClusterParameterGroupName", names.RDS_INSTANCE: "parameterGroupName"}
    for db in resources:
        if db.type not in field or is_cluster_member(db):
            continue
        engine = db.props.get("engine")
        if is_unknown(engine):
            yield NotEvaluable("engine", db.urn)
            continue
        family = engine_family(engine)
        if family is None:
            continue
        path, name = field[db.type], db.props.get(field[db.type])
        parameter, wanted = TLS_PARAMETERS[family]
        verdicts = [(g, pairing(db, path, g)) for g in groups[db.type]] if name else []
        group = next((g for g, verdict in verdicts if verdict), None)
        if group is None:
            if is_unknown(name):
                yield NotEvaluable(path, db.urn)  # which group it names is not known yet
                continue
            # A group whose name is not known yet may be the one named.
            unnamed = [g for g in groups[db.type] if is_unknown(g.props.get("name"))] if name else []
            if unnamed:
                yield from (NotEvaluable("name", g.urn) for g in unnamed)
                continue
            where = f"parameter group {name}, not in this stack," if name else "the default parameter group"
            yield Finding(db.urn, f"{where} does not force TLS: set {parameter} = {wanted} in a parameter group of the stack")
            continue
        label = name if isinstance(name, str) and not is_unknown(name) else group.name
        value = parameter_value(group, parameter)
        if isinstance(value, NotEvaluable):
            yield value
        elif value is None or value.upper() != wanted.upper():
            yield Finding(db.urn, f"parameter group {label} sets {parameter} = {value or 'nothing'}; it must be {wanted}")


# -- who may use a key, who may sign in to a database --------------------------------------------
#
# Facts checked 2026-12-02: pulumi-aws 7.51 SDK docstrings (pulumi_aws/kms/key.py ``policy``: "a
# valid policy JSON document", the key policy; kms/key_policy.py ``key_id``: the key's id or ARN;
# rds/instance.py and rds/cluster.py ``iam_database_authentication_enabled``, no default, i.e.
# off); AWS KMS developer guide, "Default key policy" (docs.aws.amazon.com/kms/latest/
# developerguide/key-policy-default.html): a key created through the API without a policy gets
# one statement giving the owning account permission to use IAM policies to allow every KMS
# operation on it; AWS RDS user guide, "Supported Regions and DB engines for IAM database
# authentication" (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
# Concepts.RDS_Fea_Regions_DB-eng.Feature.IamDatabaseAuthentication.html) and its Aurora
# counterpart: MariaDB, MySQL, PostgreSQL, Aurora MySQL and Aurora PostgreSQL, not Db2, Oracle
# or SQL Server.

@stack_rule(
    "MAAS-SEC-021",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="KMS keys carry a key policy of their own",
    description="Every KMS key of the stack has a key policy, inline (policy) or an aws.kms.KeyPolicy naming it. A "
                "key created without one gets AWS's default key policy, which lets any identity policy of the "
                "account use or administer the key: who may decrypt the data is then decided far from the key. A "
                "key is paired with its KeyPolicy by the reference or the value of keyId, never by an expected name.",
    severity="medium",
    remediation="Give the key a policy naming its administrators and the roles that use it (as the platform's "
                "keys do, components/encryption.py key_policy), or an aws.kms.KeyPolicy(key_id=key.id, ...).",
    frameworks={"NIST 800-53": ["AC-6", "SC-12"], "SOC 2": ["CC6.1"]},
)
def key_has_policy(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    for key in (r for r in resources if r.type == names.KMS_KEY):
        if key.props.get("policy") not in (None, ""):
            continue  # a policy not known yet is one all the same: the rules on its statements judge it
        matched, unsure = configuring(key, resources, [names.KMS_KEY_POLICY], "keyId")
        if matched:
            continue
        yield from undecided(unsure, "keyId") or [Finding(
            key.urn, "no key policy (policy, or an aws.kms.KeyPolicy): AWS's default lets every identity policy "
                     "of the account use the key")]


def iam_auth_engine(resource: Resource) -> Union[bool, NotEvaluable]:
    """Whether the database's engine offers IAM database authentication (MariaDB, MySQL, PostgreSQL)."""
    engine = resource.props.get("engine")
    if is_unknown(engine):
        return NotEvaluable("engine")
    return engine_family(engine) is not None


@resource_rule(
    "MAAS-SEC-022",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Databases accept IAM authentication",
    description="iamDatabaseAuthenticationEnabled is true on RDS instances and clusters of MySQL, MariaDB and "
                "PostgreSQL (off unless set), so applications sign in with short-lived tokens of their own role "
                "instead of a long-lived password, and access follows IAM (rds-db:connect per database user). An "
                "Aurora cluster's instances take the cluster's setting.",
    severity="medium",
    remediation="Set iamDatabaseAuthenticationEnabled true and grant the agent's role rds-db:connect on its "
                "database user (as the platform's Aurora clusters do).",
    types=[names.RDS_CLUSTER, names.RDS_INSTANCE],
    frameworks={"NIST 800-53": ["IA-2", "IA-5"], "SOC 2": ["CC6.1"]},
)
def database_iam_auth(resource: Resource, context: Context) -> Iterable[Outcome]:
    if is_cluster_member(resource):
        return
    offered = iam_auth_engine(resource)
    if isinstance(offered, NotEvaluable):
        yield offered
        return
    if not offered:
        return
    value = resource.props.get("iamDatabaseAuthenticationEnabled")
    if is_unknown(value):
        yield NotEvaluable("iamDatabaseAuthenticationEnabled")
    elif not is_true(value):
        yield "iamDatabaseAuthenticationEnabled is not true: clients can only sign in with a password"
