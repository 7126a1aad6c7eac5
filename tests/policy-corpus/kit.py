"""Pieces the corpus programs share: a pod that meets every pod rule, the tags every AWS resource
needs, and secure AWS building blocks. Each case changes one thing of these, so the rule it names
is the one its change breaks.

Copied next to each case's ``__main__.py`` as ``kit.py`` (tests/test_policy_corpus.py).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

TEAM = "claims"
AGENT = "intake"  # an agent the platform registers to the team (stacks/Pulumi.*.yaml, maas:teams)
ENVIRONMENT = pulumi.get_stack()
IMAGE = "ghcr.io/acme/intake-agent:2.1.0@sha256:" + "3" * 64
TAGS = {"environment": ENVIRONMENT, "team": TEAM, "cost-center": "cc-3003", "managed-by": "pulumi",
        "platform": "maas", "agent": AGENT}
LABELS = {"app.kubernetes.io/name": "worker", "app.kubernetes.io/managed-by": "pulumi",
          "app.kubernetes.io/part-of": "maas", "maas.dev/team": TEAM,
          "maas.dev/cost-center": "cc-3003", "maas.dev/environment": ENVIRONMENT}
SELECTOR = {"matchLabels": {"app.kubernetes.io/name": "worker"}}


def container(**changes: Any) -> dict[str, Any]:
    """A container every pod rule accepts, with ``changes`` set over it (None removes a key)."""
    base: dict[str, Any] = {
        "name": "worker",
        "image": IMAGE,
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "securityContext": {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return _changed(base, changes)


def security(**changes: Any) -> dict[str, Any]:
    """The container securityContext of :func:`container` with ``changes``."""
    return _changed(container()["securityContext"], changes)


def pod_spec(containers: Optional[list[dict[str, Any]]] = None, **changes: Any) -> dict[str, Any]:
    """A pod spec every pod rule accepts (its own service account, no token, restricted)."""
    base: dict[str, Any] = {
        "serviceAccountName": AGENT,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": containers if containers is not None else [container()],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    return _changed(base, changes)


def template(**changes: Any) -> dict[str, Any]:
    return {"metadata": {"labels": dict(LABELS)}, "spec": pod_spec(**changes)}


def metadata(name: str = "worker", namespace: str = AGENT) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(LABELS)}


def deployment(name: str = "worker", spec: Optional[dict[str, Any]] = None, opts: Optional[pulumi.ResourceOptions] = None,
               with_companions: bool = True) -> k8s.apps.v1.Deployment:
    """A Deployment of ``spec`` (default :func:`pod_spec`), with the disruption budget and the
    autoscaler every agent workload needs when ``with_companions``."""
    workload = k8s.apps.v1.Deployment(
        name, metadata=metadata(name),
        spec={"replicas": 2, "selector": SELECTOR,
              "template": {"metadata": {"labels": dict(LABELS)}, "spec": spec or pod_spec()}},
        opts=opts,
    )
    if with_companions:
        companions(name, "Deployment", opts)
    return workload


def companions(name: str, kind: str, opts: Optional[pulumi.ResourceOptions] = None) -> None:
    """The disruption budget and autoscaler of a workload ``name`` of ``kind``."""
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb", metadata=metadata(f"{name}-pdb"), spec={"minAvailable": 1, "selector": SELECTOR}, opts=opts,
    )
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-hpa", metadata=metadata(f"{name}-hpa"),
        spec={"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
              "minReplicas": 2, "maxReplicas": 4,
              "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                           "target": {"type": "Utilization", "averageUtilization": 70}}}]},
        opts=opts,
    )


def key_policy() -> pulumi.Output[str]:
    """A key policy of its own (not AWS's default): the account administers and uses the key, by explicit actions."""
    root = aws.get_caller_identity_output().account_id.apply(lambda account: f"arn:aws:iam::{account}:root")
    actions = ["kms:CancelKeyDeletion", "kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:DisableKey",
               "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey", "kms:GetKeyPolicy",
               "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListResourceTags", "kms:PutKeyPolicy",
               "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RevokeGrant", "kms:ScheduleKeyDeletion",
               "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription"]
    return root.apply(lambda principal: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministersAndUsesKey", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions,
         "Resource": "*"}]}))


def key(name: str, opts: Optional[pulumi.ResourceOptions] = None, **changes: Any) -> aws.kms.Key:
    """A rotated customer-managed key with a key policy of its own."""
    args: dict[str, Any] = {"description": f"{name} data", "enable_key_rotation": True, "deletion_window_in_days": 30,
                            "policy": key_policy(), "tags": TAGS}
    args.update(changes)
    return aws.kms.Key(name, opts=opts, **args)


def database(name: str, parameters: Optional[list[dict[str, str]]] = None, opts: Optional[pulumi.ResourceOptions] = None,
             **changes: Any) -> aws.rds.Instance:
    """A PostgreSQL instance every database rule accepts (encrypted with its own key, private, backed
    up, IAM authentication, tags on its snapshots, statements logged by its own parameter group),
    with ``changes`` over its arguments (None removes one)."""
    db_key = key(f"{name}-key", opts=opts)
    group = aws.rds.ParameterGroup(f"{name}-params", family="postgres16", tags=TAGS, opts=opts, parameters=(
        parameters if parameters is not None else [{"name": "rds.force_ssl", "value": "1"},
                                                   {"name": "log_statement", "value": "ddl"},
                                                   {"name": "log_min_duration_statement", "value": "1000"}]))
    args: dict[str, Any] = {
        "engine": "postgres", "engine_version": "16.4", "instance_class": "db.t4g.micro", "allocated_storage": 20,
        "username": "orders", "manage_master_user_password": True, "master_user_secret_kms_key_id": db_key.arn,
        "publicly_accessible": False, "storage_encrypted": True, "kms_key_id": db_key.arn,
        "backup_retention_period": 7, "skip_final_snapshot": True, "enabled_cloudwatch_logs_exports": ["postgresql"],
        "iam_database_authentication_enabled": True, "copy_tags_to_snapshot": True, "auto_minor_version_upgrade": True,
        "parameter_group_name": group.name, "tags": TAGS,
    }
    args.update(changes)
    return aws.rds.Instance(name, opts=opts, **{k: v for k, v in args.items() if v is not None})


def tls_only(arn: Any, resource: str, extra: Optional[list[dict[str, Any]]] = None) -> pulumi.Output[str]:
    """A resource policy denying plain HTTP on ``arn`` (and ``resource``'s sub-resources)."""
    return pulumi.Output.from_input(arn).apply(lambda a: json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyPlainHttp", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*",
                       "Resource": [a, a + resource] if resource else [a],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}] + (extra or []),
    }))


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for name, value in changes.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = value
    return result
