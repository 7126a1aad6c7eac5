"""The :class:`ObservabilityStack` component: namespaces, identities, the Grafana admin secret,
the fallback log group and the five releases. Values come from :mod:`.values`, grants from
:mod:`.iam`; this module only creates resources and wires them together."""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from ... import names
from ...iam import Statement, policy_document, trust_policy, web_identity
from ...iam.actions import KEY_ADMIN_ACTIONS, KEY_USE_ACTIONS
from ...tagging import platform_labels
from ..addons import secret_store_spec, secret_sync_service_account
from ..base import StrInput, child, encrypted_log_group
from ..workloads import Chart, helm_release, workload_identity
from .args import ObservabilityArgs
from .charts import (
    BLACKBOX_EXPORTER_CHART,
    FLUENT_BIT_CHART,
    KUBE_PROMETHEUS_STACK_CHART,
    OTEL_COLLECTOR_CHART,
    PUSHGATEWAY_CHART,
)
from .iam import (
    alertmanager_statements,
    fluent_bit_statements,
    grafana_statements,
    otel_collector_statements,
    secret_sync_statements,
)
from .layout import (
    ALERTMANAGER_SERVICE_ACCOUNT,
    FLUENT_BIT_SERVICE_ACCOUNT,
    GRAFANA_ADMIN_PASSWORD_KEY,
    GRAFANA_ADMIN_SECRET,
    GRAFANA_ADMIN_USER_KEY,
    GRAFANA_SERVICE_ACCOUNT,
    HOST_AGENTS_NAMESPACE_LABELS,
    OTEL_COLLECTOR_SERVICE_ACCOUNT,
    PULUMI_SKIP_AWAIT,
    RECEIVERS_SECRET,
    agent_log_group_prefix,
    unattributed_log_group_name,
)
from .values import (
    blackbox_exporter_values,
    fluent_bit_values,
    kube_prometheus_stack_values,
    otel_collector_removed_defaults,
    otel_collector_values,
    pushgateway_values,
)


class ObservabilityStack(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana, the blackbox exporter, the Pushgateway, the OTel collector
    and Fluent Bit.

    Pass the AWS and Kubernetes providers through ``opts.providers``. Children inherit
    them and nothing else of the caller's options.
    """

    monitoring_namespace: str
    host_agents_namespace: str
    otel_endpoint: str
    prometheus_release: k8s.helm.v3.Release
    blackbox_exporter_release: k8s.helm.v3.Release
    pushgateway_release: k8s.helm.v3.Release
    otel_collector_release: k8s.helm.v3.Release
    fluent_bit_release: k8s.helm.v3.Release
    alertmanager_role: aws.iam.Role
    grafana_role: aws.iam.Role
    otel_collector_role: aws.iam.Role
    fluent_bit_role: aws.iam.Role
    secret_sync_role: aws.iam.Role
    unattributed_log_group: aws.cloudwatch.LogGroup
    grafana_admin_secret: aws.secretsmanager.Secret
    pod_identity_associations: dict[str, aws.eks.PodIdentityAssociation]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(names.MAAS_OBSERVABILITY_STACK, name, None, opts)
        self.args = args
        self.monitoring_namespace = names.MONITORING_NAMESPACE
        self.host_agents_namespace = names.HOST_AGENTS_NAMESPACE
        self.otel_endpoint = names.OTEL_ENDPOINT
        self.otel_http_endpoint = names.OTEL_HTTP_ENDPOINT
        self.prometheus_url = names.PROMETHEUS_URL
        self.alertmanager_url = names.ALERTMANAGER_URL
        self.blackbox_exporter_address = names.BLACKBOX_EXPORTER_ADDRESS
        self.pod_identity_associations = {}
        roles = args.role_names
        labels = {**args.labels, **platform_labels(args.environment)}
        self.labels = labels

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-monitoring-namespace",
            metadata={"name": names.MONITORING_NAMESPACE, "labels": {**labels, **names.RESTRICTED_NAMESPACE_LABELS}},
            opts=child(self, protect=args.protect),
        )
        self.host_namespace = k8s.core.v1.Namespace(
            f"{name}-host-namespace",
            metadata={"name": names.HOST_AGENTS_NAMESPACE, "labels": {**labels, **HOST_AGENTS_NAMESPACE_LABELS}},
            opts=child(self, protect=args.protect),
        )

        # Fluent Bit may write to log groups, never create them: each agent creates its own
        # (/maas/<prefix>/agents/<namespace>), this stack the fallback for unknown namespaces.
        self.unattributed_log_group = encrypted_log_group(
            self, f"{name}-logs-unattributed", unattributed_log_group_name(args.prefix),
            retention_days=args.log_retention_days, key_arn=args.logs_key_arn, protect=args.protect,
        )

        # -- identities
        page_topics = list(args.page_topic_arns) or [args.alert_topic_arn]
        ticket_topics = list(args.ticket_topic_arns) or [args.alert_topic_arn]
        self.alertmanager_role, alertmanager_identity = self._identity(
            name, "alertmanager", role_name=roles["alertmanager"], namespace=names.MONITORING_NAMESPACE,
            service_account=ALERTMANAGER_SERVICE_ACCOUNT,
            statements=alertmanager_statements(args.account, _unique(page_topics + ticket_topics), args.alert_key_arn),
            description="Alertmanager: publishes alerts to the alert topics only (Pod Identity)",
        )
        self.grafana_role, grafana_identity = self._identity(
            name, "grafana", role_name=roles["grafana"], namespace=names.MONITORING_NAMESPACE,
            service_account=GRAFANA_SERVICE_ACCOUNT, statements=grafana_statements(args.account, args.prefix),
            description="Grafana: reads CloudWatch metrics and the agents' logs (Pod Identity)",
        )
        self.otel_collector_role, otel_identity = self._identity(
            name, "otel-collector", role_name=roles["otel-collector"], namespace=names.MONITORING_NAMESPACE,
            service_account=OTEL_COLLECTOR_SERVICE_ACCOUNT, statements=otel_collector_statements(),
            description="OpenTelemetry collector: writes traces to X-Ray (Pod Identity)",
        )
        self.fluent_bit_role, fluent_bit_identity = self._identity(
            name, "fluent-bit", role_name=roles["fluent-bit"], namespace=names.HOST_AGENTS_NAMESPACE,
            service_account=FLUENT_BIT_SERVICE_ACCOUNT, statements=fluent_bit_statements(args.account, args.prefix),
            description="Fluent Bit: ships agent container logs to their log groups (Pod Identity)",
        )

        # -- Grafana admin credentials: Secrets Manager -> External Secrets -> Secret
        admin_secret_sync = self._grafana_admin_secret(name, roles["secret-sync"])

        # -- releases
        self.prometheus_release = self._release(
            name, KUBE_PROMETHEUS_STACK_CHART, namespace=self.namespace.metadata.name,
            values=kube_prometheus_stack_values(args, page_topics, ticket_topics),
            depends_on=[self.host_namespace, alertmanager_identity, grafana_identity, admin_secret_sync],
        )
        # Each of the others creates a ServiceMonitor, whose CRD comes with kube-prometheus-stack.
        self.blackbox_exporter_release = self._release(
            name, BLACKBOX_EXPORTER_CHART, namespace=self.namespace.metadata.name,
            values=blackbox_exporter_values(args.replicas), depends_on=[self.prometheus_release],
        )
        # Always, whether or not an agent of this stack has a golden set: agents of team stacks,
        # which this stack never sees, push here too, and one small pod keeps every environment
        # the same (no release that comes and goes with an agent's config).
        self.pushgateway_release = self._release(
            name, PUSHGATEWAY_CHART, namespace=self.namespace.metadata.name,
            values=pushgateway_values(), depends_on=[self.prometheus_release],
        )
        self.otel_collector_release = self._release(
            name, OTEL_COLLECTOR_CHART, namespace=self.namespace.metadata.name,
            values=otel_collector_values(args.account.region, args.replicas), depends_on=[self.prometheus_release, otel_identity],
            removed_defaults=otel_collector_removed_defaults(),
        )
        self.fluent_bit_release = self._release(
            name, FLUENT_BIT_CHART, namespace=self.host_namespace.metadata.name,
            values=fluent_bit_values(args.prefix, args.account.region),
            depends_on=[self.prometheus_release, fluent_bit_identity, self.unattributed_log_group],
        )

        self.register_outputs({
            "monitoring_namespace": names.MONITORING_NAMESPACE,
            "otel_endpoint": names.OTEL_ENDPOINT,
            "prometheus_url": names.PROMETHEUS_URL,
            "alertmanager_role_arn": self.alertmanager_role.arn,
            "grafana_role_arn": self.grafana_role.arn,
            "otel_collector_role_arn": self.otel_collector_role.arn,
            "fluent_bit_role_arn": self.fluent_bit_role.arn,
            "grafana_admin_secret_arn": self.grafana_admin_secret.arn,
        })

    def outputs(self) -> dict[str, pulumi.Input]:
        """What agents (and team stacks, through the platform's outputs) need to know."""
        return {
            "monitoring_namespace": names.MONITORING_NAMESPACE,
            "otel_endpoint": names.OTEL_ENDPOINT,
            "otel_http_endpoint": names.OTEL_HTTP_ENDPOINT,
            "prometheus_url": names.PROMETHEUS_URL,
            "alertmanager_url": names.ALERTMANAGER_URL,
            "blackbox_exporter_address": names.BLACKBOX_EXPORTER_ADDRESS,
            "blackbox_http_module": names.BLACKBOX_HTTP_MODULE,
            "dashboard_label": {names.DASHBOARD_LABEL: names.DASHBOARD_LABEL_VALUE},
            "agent_log_group_prefix": agent_log_group_prefix(self.args.prefix),
            "grafana_admin_secret_arn": self.grafana_admin_secret.arn,
        }

    # -- identities ------------------------------------------------------------------------

    def _identity(
        self, name: str, workload: str, *, role_name: str, namespace: str, service_account: str,
        statements: tuple[Statement, ...], description: str,
    ) -> tuple[aws.iam.Role, aws.eks.PodIdentityAssociation]:
        args = self.args
        role, association = workload_identity(
            self, f"{name}-{workload}", account=args.account, cluster_name=args.cluster_name,
            cluster_arn=args.cluster_arn, role_name=role_name, namespace=namespace, service_account=service_account,
            statements=statements, description=description,
        )
        self.pod_identity_associations[workload] = association
        return role, association

    # -- secrets ---------------------------------------------------------------------------

    def _grafana_admin_secret(self, name: str, role_name: str) -> pulumi.Resource:
        """The admin credentials live in Secrets Manager; External Secrets copies them into
        ``monitoring`` as a role only the token of monitoring's ``secret-sync`` service account
        may assume, which may read only this secret and the receivers'."""
        args, account = self.args, self.args.account
        key_arn: pulumi.Input[str]
        if args.secrets_key_arn is not None:
            key_arn = args.secrets_key_arn
        else:
            key = aws.kms.Key(
                f"{name}-secrets-key",
                description=f"{args.prefix}: secrets of the observability stack",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=30 if args.protect else 7,
                policy=policy_document(
                    Statement(sid="RootAdministersKey", principals={"AWS": account.root_principal},
                              actions=KEY_ADMIN_ACTIONS, resources=("*",)),
                    Statement(
                        sid="UseOnlyThroughSecretsManager",
                        principals={"AWS": account.root_principal},
                        actions=KEY_USE_ACTIONS + ("kms:CreateGrant",),
                        resources=("*",),
                        conditions={"StringEquals": {
                            "kms:CallerAccount": account.account_id,
                            "kms:ViaService": account.regional_service("secretsmanager"),
                        }},
                    ),
                ),
                opts=child(self, protect=args.protect),
            )
            aws.kms.Alias(f"{name}-secrets-key-alias", name=f"alias/{args.prefix}-observability",
                          target_key_id=key.key_id, opts=child(self))
            key_arn = key.arn
        self.secrets_key_arn = key_arn

        self.grafana_admin_secret = aws.secretsmanager.Secret(
            f"{name}-grafana-admin",
            name=args.admin_secret_name,
            description=f"Grafana admin of {args.prefix}: JSON with keys {GRAFANA_ADMIN_USER_KEY}, "
                        f"{GRAFANA_ADMIN_PASSWORD_KEY}. Synced into {names.MONITORING_NAMESPACE}/{GRAFANA_ADMIN_SECRET}.",
            kms_key_id=key_arn,
            recovery_window_in_days=30 if args.protect else 0,
            opts=child(self, protect=args.protect),
        )
        seeded: list[pulumi.Resource] = []
        if args.seed_grafana_admin_password:
            password = random.RandomPassword(
                f"{name}-grafana-admin-password", length=32, special=False, opts=child(self),
            ).result.apply(pulumi.Output.secret)
            seeded.append(aws.secretsmanager.SecretVersion(
                f"{name}-grafana-admin-value",
                secret_id=self.grafana_admin_secret.id,
                secret_string=pulumi.Output.json_dumps(
                    {GRAFANA_ADMIN_USER_KEY: "admin", GRAFANA_ADMIN_PASSWORD_KEY: password}
                ),
                # Rotated out of band from then on; Pulumi never writes it back.
                opts=child(self, ignore_changes=["secret_string"]),
            ))

        self.secret_sync_role = aws.iam.Role(
            f"{name}-secret-sync-role",
            name=role_name,
            description="External Secrets reads the observability stack's secrets as this role",
            # Only a token of monitoring's secret-sync service account (see ..addons).
            assume_role_policy=trust_policy(web_identity(
                args.oidc_provider_arn, args.oidc_issuer, names.MONITORING_NAMESPACE,
                names.SECRET_SYNC_SERVICE_ACCOUNT, sid="SecretSyncOfTheMonitoringNamespace",
            )),
            max_session_duration=3600,
            opts=child(self),
        )
        self.receiver_secrets = {
            receiver.name: aws.secretsmanager.Secret(
                f"{name}-receiver-{receiver.name}",
                name=f"{args.prefix}/observability/receivers/{receiver.name}",
                description=f"Alertmanager receiver {receiver.name} ({receiver.kind}): the bare URL or key, "
                            "put with put-secret-value",
                kms_key_id=key_arn,
                recovery_window_in_days=30 if args.protect else 0,
                opts=child(self, protect=args.protect),
            )
            for receiver in args.receivers
        }
        sync_policy = aws.iam.RolePolicy(
            f"{name}-secret-sync-policy",
            role=self.secret_sync_role.id,
            policy=policy_document(*secret_sync_statements(
                account, self.grafana_admin_secret.arn, key_arn,
                tuple(secret.arn for secret in self.receiver_secrets.values()),
            )),
            opts=child(self),
        )
        access = secret_sync_service_account(
            self, name, namespace=names.MONITORING_NAMESPACE, role_arn=self.secret_sync_role.arn,
            labels=self.labels, depends_on=[self.namespace],
        )
        store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata={"name": names.SECRET_STORE, "namespace": names.MONITORING_NAMESPACE, "labels": self.labels},
            spec=secret_store_spec(account.region),
            opts=child(self, depends_on=[self.namespace, sync_policy, *access, *args.wait_for]),
        )
        self.receivers_sync: Optional[k8s.apiextensions.CustomResource] = None
        if self.receiver_secrets:
            # Ready only once someone has put every receiver's value: nothing waits for it. The
            # Alertmanager pods mount its Secret as an optional volume (values.receiver_volumes),
            # and Pulumi does not await it, not even where PULUMI_K8S_AWAIT_ALL asks it to.
            self.receivers_sync = k8s.apiextensions.CustomResource(
                f"{name}-receivers-sync",
                api_version="external-secrets.io/v1",
                kind="ExternalSecret",
                metadata={"name": RECEIVERS_SECRET, "namespace": names.MONITORING_NAMESPACE, "labels": self.labels,
                          "annotations": {PULUMI_SKIP_AWAIT: "true"}},
                spec={
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": names.SECRET_STORE, "kind": "SecretStore"},
                    "target": {"name": RECEIVERS_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                    "data": [{"secretKey": receiver, "remoteRef": {"key": secret.name}}
                             for receiver, secret in self.receiver_secrets.items()],
                },
                opts=child(self, depends_on=[store]),
            )
        return k8s.apiextensions.CustomResource(
            f"{name}-grafana-admin-sync",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": names.MONITORING_NAMESPACE, "labels": self.labels},
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"name": names.SECRET_STORE, "kind": "SecretStore"},
                "target": {"name": GRAFANA_ADMIN_SECRET, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
                "data": [
                    {"secretKey": key, "remoteRef": {"key": self.grafana_admin_secret.name, "property": key}}
                    for key in (GRAFANA_ADMIN_USER_KEY, GRAFANA_ADMIN_PASSWORD_KEY)
                ],
            },
            opts=child(self, depends_on=[store, *seeded]),
        )

    # -- releases --------------------------------------------------------------------------

    def _release(
        self, name: str, chart: Chart, *, namespace: pulumi.Input[str], values: dict,
        depends_on: list[pulumi.Resource], removed_defaults: Optional[dict] = None,
    ) -> k8s.helm.v3.Release:
        # args.wait_for holds the EBS CSI driver and the StorageClass: the releases, whose
        # StatefulSets' claims go when they go, are deleted before the driver that deletes volumes.
        return helm_release(self, f"{name}-{chart.name}", chart, namespace=namespace, values=values,
                            depends_on=[*depends_on, *self.args.wait_for], protect=self.args.protect,
                            removed_defaults=removed_defaults)


def _unique(values: list[StrInput]) -> list[StrInput]:
    """Drop repeats: equal strings, or the same Output object (Outputs cannot be compared
    before they resolve; the policy renderer drops equal ARNs again once they do)."""
    seen: set = set()
    out: list[StrInput] = []
    for value in values:
        key = value if isinstance(value, str) else id(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out
