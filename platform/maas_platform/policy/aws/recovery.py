"""MAAS-REL: backups, deletion protection, dead letters, zones, minor upgrades, snapshot tags and
object versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

from ... import names
from ..core import UNKNOWN, Context, Finding, NotEvaluable, Outcome, Resource, resource_rule, stack_rule
from .helpers import (
    MIN_BACKUP_RETENTION_DAYS, S3_BUCKETS, as_list, configuring, document, fmt, is_cluster_member, is_false, is_set,
    is_true, is_unknown, mapping, number, pairing, undecided,
)

# Stateful resources: what they hold cannot be recreated (data, the keys that decrypt it,
# credentials, audit logs, the cluster's etcd). Queues and topics are deliberately not here:
# they carry messages in transit, and a replaced queue loses no durable state.
STATEFUL_TYPES = (
    names.DYNAMODB_TABLE, names.RDS_CLUSTER, names.RDS_INSTANCE, *S3_BUCKETS, names.KMS_KEY,
    names.SECRETSMANAGER_SECRET, names.CLOUDWATCH_LOG_GROUP, names.EKS_CLUSTER, names.EBS_VOLUME,
    names.EFS_FILE_SYSTEM,
)
SQS_DEFAULT_RETENTION_SECONDS = 345_600  # four days
MULTI_AZ_MQ_MODES = ("ACTIVE_STANDBY_MULTI_AZ", "CLUSTER_MULTI_AZ")


@resource_rule(
    "MAAS-REL-001",
    title="DynamoDB tables have point-in-time recovery",
    description="pointInTimeRecovery.enabled is true (AWS default: off), so a bad write can be rolled back to any "
                "second of the last 35 days.",
    severity="high",
    remediation="Set pointInTimeRecovery = {enabled: true}.",
    types=[names.DYNAMODB_TABLE],
    frameworks={"NIST 800-53": ["CP-9", "CP-10"], "SOC 2": ["A1.2"]},
)
def dynamodb_pitr(resource: Resource, context: Context) -> Iterable[Outcome]:
    unknown = resource.unknown_at("pointInTimeRecovery.enabled")
    if unknown:
        yield NotEvaluable(unknown)
    elif not is_true(resource.get("pointInTimeRecovery.enabled")):
        yield "pointInTimeRecovery is not enabled"


@resource_rule(
    "MAAS-REL-002",
    title="Databases keep a week of automated backups",
    description=f"backupRetentionPeriod is at least {MIN_BACKUP_RETENTION_DAYS} days (AWS default: 1); in prod a "
                "final snapshot is taken on deletion (skipFinalSnapshot not true; the provider default is false).",
    severity="high",
    remediation=f"Set backupRetentionPeriod >= {MIN_BACKUP_RETENTION_DAYS}; in prod skipFinalSnapshot false and a "
                "finalSnapshotIdentifier.",
    types=[names.RDS_CLUSTER, names.RDS_INSTANCE],
    frameworks={"NIST 800-53": ["CP-9"], "SOC 2": ["A1.2"]},
)
def database_backups(resource: Resource, context: Context) -> Iterable[Outcome]:
    if is_cluster_member(resource):
        return
    props = resource.props
    value = props.get("backupRetentionPeriod")
    days = number(value)
    if is_unknown(value):
        yield NotEvaluable("backupRetentionPeriod")
    elif days is None or days < MIN_BACKUP_RETENTION_DAYS:
        yield f"backupRetentionPeriod is {f'{fmt(days)}' if days is not None else 'unset (1 day)'}; keep at least " \
              f"{MIN_BACKUP_RETENTION_DAYS} days"
    if not context.prod:
        return
    skip = props.get("skipFinalSnapshot")
    if is_unknown(skip):
        yield NotEvaluable("skipFinalSnapshot")
    elif is_true(skip):
        yield "skipFinalSnapshot is true: deleting the database leaves no snapshot"


def required_true(resource: Resource, key: str) -> Iterator[Outcome]:
    value = resource.props.get(key)
    if is_unknown(value):
        yield NotEvaluable(key)
    elif not is_true(value):
        yield f"{key} is not true"


def minimum_window(resource: Resource, key: str, days: int, consequence: str) -> Iterator[Outcome]:
    value = resource.props.get(key)
    window = number(value)
    if is_unknown(value):
        yield NotEvaluable(key)
    elif window is not None and window < days:
        yield f"{key} is {fmt(window)}: {consequence}"


@resource_rule(
    "MAAS-REL-003",
    title="Stateful resources resist deletion in prod",
    description="In prod: databases and EKS clusters have deletionProtection, DynamoDB tables "
                "deletionProtectionEnabled, buckets no forceDestroy, secrets a recovery window, KMS keys a 30-day "
                "deletion window. (Pulumi's protect flag is MAAS-REL-004.)",
    severity="high",
    remediation="Set the resource's deletion guard (deletionProtection / deletionProtectionEnabled true, "
                "forceDestroy false, recoveryWindowInDays >= 7, deletionWindowInDays 30).",
    types=[names.RDS_CLUSTER, names.RDS_INSTANCE, names.DYNAMODB_TABLE, names.EKS_CLUSTER, *S3_BUCKETS,
           names.SECRETSMANAGER_SECRET, names.KMS_KEY],
    frameworks={"NIST 800-53": ["CP-9", "CM-3"], "SOC 2": ["A1.2", "CC8.1"]},
)
def prod_deletion_protection(resource: Resource, context: Context) -> Iterable[Outcome]:
    if not context.prod:
        return
    kind = resource.type
    if kind in (names.RDS_CLUSTER, names.RDS_INSTANCE, names.EKS_CLUSTER):
        if not is_cluster_member(resource):
            yield from required_true(resource, "deletionProtection")
    elif kind == names.DYNAMODB_TABLE:
        yield from required_true(resource, "deletionProtectionEnabled")
    elif kind in S3_BUCKETS:
        force = resource.props.get("forceDestroy")
        if is_unknown(force):
            yield NotEvaluable("forceDestroy")
        elif is_true(force):
            yield "forceDestroy is true: deleting the stack empties the bucket"
    elif kind == names.SECRETSMANAGER_SECRET:
        yield from minimum_window(resource, "recoveryWindowInDays", 7, "a deleted secret cannot be restored")
    elif kind == names.KMS_KEY:
        yield from minimum_window(resource, "deletionWindowInDays", 30, "keep 30 days to cancel a scheduled deletion")


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
def prod_protect_flag(resource: Resource, context: Context) -> Iterable[Outcome]:
    if context.prod and not resource.protect:
        yield "not protected: pulumi destroy or a replacement would delete it"


def queues(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == names.SQS_QUEUE]


def redrive(resource: Resource) -> Any:
    """The redrive policy of a queue or of a RedrivePolicy resource as a mapping, UNKNOWN, or None."""
    value = resource.props.get("redrivePolicy")
    if is_unknown(value):
        return UNKNOWN
    return document(value)


# Where a redrive policy names its dead-letter queue (inside the JSON of ``redrivePolicy``).
DEAD_LETTER_TARGET = "redrivePolicy.deadLetterTargetArn"


@dataclass(frozen=True)
class Redrive:
    """A redrive policy: inline on a queue (``holder`` is the queue) or an ``aws.sqs.RedrivePolicy``
    (``holder``, which names its queue by ``queueUrl``). ``policy`` is the document, UNKNOWN or None."""

    holder: Resource
    policy: Any

    def source(self, queue: Resource) -> Optional[bool]:
        """Whether it is ``queue``'s (None: its queue is not known yet)."""
        if self.holder.type == names.SQS_QUEUE:
            return self.holder.urn == queue.urn
        return pairing(self.holder, "queueUrl", queue)

    def target(self, queue: Resource) -> Optional[bool]:
        """Whether ``queue`` is its dead-letter queue (None: its target is not known yet)."""
        return pairing(self.holder, DEAD_LETTER_TARGET, queue)

    @property
    def target_path(self) -> str:
        return "redrivePolicy" if self.policy == UNKNOWN else DEAD_LETTER_TARGET


def redrives(resources: Sequence[Resource]) -> list[Redrive]:
    """Every redrive policy of the stack, inline or a resource of its own."""
    found = [Redrive(q, redrive(q)) for q in queues(resources) if redrive(q) is not None]
    return found + [Redrive(r, redrive(r)) for r in resources if r.type == names.SQS_REDRIVE_POLICY]


def dead_letter_use(queue: Resource, forms: Sequence[Redrive], allows: Sequence[Resource]
                    ) -> tuple[bool, list[NotEvaluable]]:
    """Whether ``queue`` is some queue's dead-letter queue (a redrive policy names it, or it
    admits sources by a redrive allow policy), and what may name it but is not known yet."""
    if is_set(queue.props.get("redriveAllowPolicy")):
        return True, []
    targets = [(form, form.target(queue)) for form in forms]
    allowed, unsure = configuring(queue, allows, [names.SQS_REDRIVE_ALLOW_POLICY], "queueUrl")
    if allowed or any(verdict for _, verdict in targets):
        return True, []
    blockers = [NotEvaluable(form.target_path, form.holder.urn) for form, verdict in targets if verdict is None]
    return False, blockers + undecided(unsure, "queueUrl")


def redrive_problems(form: Redrive) -> Iterator[Union[Finding, NotEvaluable]]:
    """What is wrong with a queue's own redrive policy."""
    if form.policy == UNKNOWN:
        yield NotEvaluable("redrivePolicy", form.holder.urn)
        return
    policy = mapping(form.policy)
    if not is_set(policy.get("deadLetterTargetArn")):
        yield Finding(form.holder.urn, "redrivePolicy names no deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if is_unknown(count):
        yield NotEvaluable("redrivePolicy.maxReceiveCount", form.holder.urn)
    elif number(count) is None or number(count) < 1:
        yield Finding(form.holder.urn, "redrivePolicy sets no maxReceiveCount")


@stack_rule(
    "MAAS-REL-005",
    title="Every queue that is not a dead-letter queue has one",
    description="Each SQS queue is either some queue's dead-letter queue or has a redrive policy (its redrivePolicy, "
                "or an aws.sqs.RedrivePolicy naming it) with a deadLetterTargetArn and a maxReceiveCount, so a poison "
                "message cannot loop forever or be lost.",
    severity="medium",
    remediation="Create a DLQ next to the queue and set redrivePolicy = {deadLetterTargetArn, maxReceiveCount: 5}.",
    frameworks={"NIST 800-53": ["CP-10", "SI-11"], "SOC 2": ["A1.2"]},
)
def every_queue_has_dlq(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    forms = redrives(resources)
    allows = [r for r in resources if r.type == names.SQS_REDRIVE_ALLOW_POLICY]
    for queue in queues(resources):
        owns = [(form, form.source(queue)) for form in forms]
        own = [form for form, verdict in owns if verdict]
        if own:
            for form in own:
                yield from redrive_problems(form)
            continue
        is_dead_letter, blockers = dead_letter_use(queue, forms, allows)
        if is_dead_letter:
            continue
        blockers = [NotEvaluable("queueUrl", form.holder.urn) for form, verdict in owns if verdict is None] + blockers
        yield from blockers or [Finding(queue.urn, "no redrivePolicy (inline or an aws.sqs.RedrivePolicy) and no "
                                                   "queue uses it as its dead-letter queue")]


def retention_seconds(queue: Resource) -> Union[float, NotEvaluable]:
    value = queue.props.get("messageRetentionSeconds")
    if is_unknown(value):
        return NotEvaluable("messageRetentionSeconds", queue.urn)
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
def dlq_retention(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    every = queues(resources)
    for form in redrives(resources):
        targets = [(q, form.target(q)) for q in every]
        dlqs = [q for q, verdict in targets if verdict]
        if not dlqs:
            if any(verdict is None for _, verdict in targets):
                yield NotEvaluable(form.target_path, form.holder.urn)
            continue
        sources = [(q, form.source(q)) for q in every]
        if not any(verdict for _, verdict in sources) and any(verdict is None for _, verdict in sources):
            yield NotEvaluable("queueUrl", form.holder.urn)
            continue
        for queue in (q for q, verdict in sources if verdict):
            for dlq in dlqs:
                source, kept = retention_seconds(queue), retention_seconds(dlq)
                if isinstance(source, NotEvaluable) or isinstance(kept, NotEvaluable):
                    yield from (v for v in (source, kept) if isinstance(v, NotEvaluable))
                elif kept < source:
                    yield Finding(dlq.urn, f"keeps messages {fmt(kept)}s, less than its source queue {queue.name} "
                                           f"({fmt(source)}s)")


@resource_rule(
    "MAAS-REL-007",
    title="Node groups span three availability zones in prod",
    description="In prod every managed node group lists at least three subnets (one per zone of the VPC) and keeps "
                "at least three nodes, so losing a zone leaves capacity in two others.",
    severity="high",
    remediation="Give the node group the private subnet of every zone and scalingConfig.minSize >= 3.",
    types=[names.EKS_NODE_GROUP],
    frameworks={"NIST 800-53": ["SC-36", "CP-2"], "SOC 2": ["A1.2"]},
)
def node_groups_multi_az(resource: Resource, context: Context) -> Iterable[Outcome]:
    if not context.prod:
        return
    subnets = resource.props.get("subnetIds")
    if is_unknown(subnets):
        yield NotEvaluable("subnetIds")
    else:
        listed = as_list(subnets)
        unknown = [i for i, s in enumerate(listed) if is_unknown(s)]
        known = {s for s in listed if not is_unknown(s)}
        most = len(known) + len(unknown)  # subnets not created yet may all be distinct
        if most < 3:
            yield f"spans {most} subnet(s); prod needs one in each of three zones"
        elif len(known) < 3:
            yield from (NotEvaluable(f"subnetIds[{i}]") for i in unknown)
    unknown_size = resource.unknown_at("scalingConfig.minSize")
    if unknown_size:
        yield NotEvaluable(unknown_size)
        return
    minimum = number(resource.get("scalingConfig.minSize"))
    if minimum is None or minimum < 3:
        yield f"scalingConfig.minSize is {f'{fmt(minimum)}' if minimum is not None else 'unset'}; prod keeps one node per zone (3)"


def cluster_zones(cluster: Resource, instances: Sequence[Resource]) -> Iterator[Union[Finding, NotEvaluable]]:
    """An Aurora cluster's instances (whose clusterIdentifier names it) in at least two zones (an
    instance AWS places counts toward a second zone only); not evaluable while instances or
    zones that could make it pass are not known."""
    members, unsure = configuring(cluster, instances, [names.RDS_CLUSTER_INSTANCE], "clusterIdentifier")
    zones = [i.props.get("availabilityZone") for i in members]
    unplaced_zones = [NotEvaluable("availabilityZone", i.urn) for i in members
                      if is_unknown(i.props.get("availabilityZone"))]
    known = [z for z in zones if not is_unknown(z)]
    distinct = {z for z in known if z}
    placed_by_aws = min(sum(1 for z in known if not z), 1)  # AWS places those; count them only toward a second zone
    if len(zones) >= 2 and len(distinct) + placed_by_aws >= 2:
        return
    blockers = undecided(unsure, "clusterIdentifier") + unplaced_zones
    if blockers and len(distinct) + placed_by_aws + len(blockers) >= 2:
        yield from blockers
        return
    yield Finding(cluster.urn, f"{len(zones)} instance(s) in {len(distinct) or 'no fixed'} zone(s): add a reader "
                               "in another zone")


@stack_rule(
    "MAAS-REL-008",
    title="Databases and brokers survive the loss of a zone in prod",
    description="In prod an Aurora cluster has instances in at least two availability zones, an RDS instance is "
                "multiAz, and an Amazon MQ broker runs a multi-AZ deployment mode.",
    severity="high",
    remediation="Add a reader ClusterInstance in another zone (or multiAz true / CLUSTER_MULTI_AZ).",
    frameworks={"NIST 800-53": ["SC-36", "CP-2"], "SOC 2": ["A1.2"]},
)
def prod_multi_az(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    if not context.prod:
        return
    instances = [r for r in resources if r.type == names.RDS_CLUSTER_INSTANCE]
    for cluster in (r for r in resources if r.type == names.RDS_CLUSTER):
        yield from cluster_zones(cluster, instances)
    for db in (r for r in resources if r.type == names.RDS_INSTANCE and not is_cluster_member(r)):
        multi_az = db.props.get("multiAz")
        if is_unknown(multi_az):
            yield NotEvaluable("multiAz", db.urn)
        elif not is_true(multi_az):
            yield Finding(db.urn, "multiAz is not true")
    for broker in (r for r in resources if r.type == names.MQ_BROKER):
        mode = broker.props.get("deploymentMode")
        if is_unknown(mode):
            yield NotEvaluable("deploymentMode", broker.urn)
        elif mode not in MULTI_AZ_MQ_MODES:
            yield Finding(broker.urn, f"deploymentMode is {mode or 'SINGLE_INSTANCE'}; use {' or '.join(MULTI_AZ_MQ_MODES)}")


# Defaults these rules rest on, pulumi-aws 7.51 SDK docstrings (pulumi_aws/rds/instance.py,
# rds/cluster.py, rds/cluster_instance.py, s3/bucket_versioning.py), read 2026-12-02:
# autoMinorVersionUpgrade defaults to true (instance, cluster instance and cluster);
# copyTagsToSnapshot defaults to false (instance and cluster).
MINOR_UPGRADE_TYPES = (names.RDS_INSTANCE, names.RDS_CLUSTER_INSTANCE, names.RDS_CLUSTER)
BUCKET_VERSIONING_TYPES = (names.S3_BUCKET_VERSIONING, names.S3_BUCKET_VERSIONING_V2)


@resource_rule(
    "MAAS-REL-009",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Databases take minor engine upgrades",
    description="autoMinorVersionUpgrade is not false on RDS instances, Aurora cluster instances and clusters, so the "
                "engine's security and bug-fix releases are applied in the maintenance window. AWS's default is true: "
                "leaving it out passes; switching it off leaves known flaws unpatched until someone upgrades by hand.",
    severity="medium",
    remediation="Remove autoMinorVersionUpgrade (or set it true) and pick the window with preferredMaintenanceWindow.",
    types=MINOR_UPGRADE_TYPES,
    frameworks={"NIST 800-53": ["SI-2"], "SOC 2": ["CC7.1"]},
)
def minor_upgrades(resource: Resource, context: Context) -> Iterable[Outcome]:
    value = resource.props.get("autoMinorVersionUpgrade")
    if is_unknown(value):
        yield NotEvaluable("autoMinorVersionUpgrade")
    elif is_false(value):
        yield "autoMinorVersionUpgrade is false: minor engine releases (security fixes) are never applied"


@resource_rule(
    "MAAS-REL-010",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Database snapshots carry the database's tags",
    description="copyTagsToSnapshot is true on RDS instances and clusters (default false), so the snapshots a "
                "database leaves (automated, manual, the final one) keep its team, agent and cost-center tags: they "
                "stay attributed, findable when restoring, and under the same tag-based access conditions. An "
                "Aurora cluster's instances take the cluster's setting.",
    severity="low",
    remediation="Set copyTagsToSnapshot true on the instance or cluster.",
    types=[names.RDS_CLUSTER, names.RDS_INSTANCE],
    frameworks={"NIST 800-53": ["CP-9", "CM-8"], "SOC 2": ["A1.2"]},
)
def snapshots_tagged(resource: Resource, context: Context) -> Iterable[Outcome]:
    if is_cluster_member(resource):
        return
    value = resource.props.get("copyTagsToSnapshot")
    if is_unknown(value):
        yield NotEvaluable("copyTagsToSnapshot")
    elif not is_true(value):
        yield "copyTagsToSnapshot is not true: its snapshots lose the database's tags"


def versioning_enabled(configuration: Resource) -> Union[bool, NotEvaluable]:
    """Whether a BucketVersioning resource enables versioning (status Enabled)."""
    path = "versioningConfiguration.status"
    unknown = configuration.unknown_at(path)
    if unknown:
        return NotEvaluable(unknown, configuration.urn)
    return configuration.get(path) == "Enabled"


@stack_rule(
    "MAAS-REL-011",
    # Advisory: checkov's hygiene check (policies/checkov-map.yaml), not a weakness a secure program must fix.
    level="advisory",
    title="Buckets keep object versions in prod",
    description="In prod every S3 bucket has versioning enabled, inline (versioning.enabled on aws.s3.Bucket) or by an "
                "aws.s3.BucketVersioning naming it with status Enabled, so an overwritten or deleted object can be "
                "restored. A bucket is paired with its versioning by the reference or the value of its bucket input, "
                "never by an expected name.",
    severity="medium",
    remediation="Add an aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration={status: Enabled}) and a "
                "lifecycle rule expiring noncurrent versions.",
    frameworks={"NIST 800-53": ["CP-9", "SI-12"], "SOC 2": ["A1.2"]},
)
def prod_bucket_versioning(resources: Sequence[Resource], context: Context) -> Iterable[Union[Finding, NotEvaluable]]:
    if not context.prod:
        return
    for bucket in (r for r in resources if r.type in S3_BUCKETS):
        inline = bucket.get("versioning.enabled")
        if is_true(inline):
            continue
        if is_unknown(inline) or bucket.unknown_at("versioning"):
            yield NotEvaluable("versioning.enabled", bucket.urn)
            continue
        matched, unsure = configuring(bucket, resources, BUCKET_VERSIONING_TYPES, "bucket")
        verdicts = [versioning_enabled(configuration) for configuration in matched]
        if any(verdict is True for verdict in verdicts):
            continue
        blockers = [v for v in verdicts if isinstance(v, NotEvaluable)] + undecided(unsure, "bucket")
        yield from blockers or [Finding(bucket.urn, "versioning is not enabled: an overwritten or deleted object "
                                                    "cannot be restored")]
