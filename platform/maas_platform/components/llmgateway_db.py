"""The LLM gateway's PostgreSQL inside the cluster (``maas:llm.gateway_database: in_cluster``).

One PostgreSQL pod instead of Aurora Serverless v2, whose 0.5 ACU floor runs around the clock
(LiteLLM keeps its connections open, so Aurora never pauses): about $44 a month that dev does not
need to pay for state it can rebuild. What it gives up, and why prod keeps Aurora, is in
docs/llm-access.md ("The gateway"); the config refuses it in prod.

* The official ``postgres`` image at the major of :class:`~..config.agents.PostgresStorage`'s
  Aurora engine (16). docker-library/official-images ``library/postgres`` @ 37079fb (read
  2026-12-03): ``Tags: 16.15, 16, 16.15-trixie, 16-trixie`` for amd64 and arm64v8 among others.
  Prisma, LiteLLM's ORM, supports PostgreSQL 9.6 to 18 (prisma.io/docs/orm/v6/reference/
  supported-databases, read 2026-12-03).
* It runs as the image's own ``postgres`` user, UID and GID 999 (docker-library/postgres
  16/trixie/Dockerfile @ 1cb68ae: ``useradd -r -g postgres --uid=999``), with a read-only root:
  the data directory is a subdirectory of the volume (the entrypoint ``chmod 700``s it, which a
  volume's root refuses a non-root user), the socket directory ``/var/run/postgresql`` and
  ``/tmp`` are emptyDirs.
* TLS: a key and a self-signed certificate made by ``pulumi_tls`` (secrets in the stack's state),
  kept beside the password in its Secrets Manager secret, under the gateway's key, and synced by
  External Secrets into a Secret of their own that only PostgreSQL mounts. ``pg_hba.conf`` admits TCP connections over TLS only (``hostssl``), as
  ``rds.force_ssl`` does for Aurora; the client's ``sslmode=require`` encrypts without verifying
  the certificate, as it does with Aurora. PostgreSQL loads a key file owned by root only without
  group write or execute and without any access for others (src/backend/libpq/be-secure-common.c
  ``check_ssl_key_file_permissions``, as patched on pgsql-hackers, read 2026-12-03): the Secret's
  files are root's, mounted ``0440``, readable through ``fsGroup`` 999.
* The password is the Secrets Manager secret the Aurora path uses, synced into the namespace by
  External Secrets (``llm-gateway-database``: ``username``, ``password``).
"""

from __future__ import annotations

from typing import Any, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from .. import names
from .base import child

POSTGRES_IMAGE = "postgres:16.15"
POSTGRES_UID = 999  # the image's postgres user and group
POSTGRES_NAME = "llm-gateway-postgres"
POSTGRES_TLS_SECRET = "llm-gateway-postgres-tls"
POSTGRES_VOLUME_SIZE = "5Gi"
POSTGRES_PORT = 5432
DATA_DIR = "/var/lib/postgresql/data"
TLS_DIR = "/etc/postgresql/tls"
HBA_DIR = "/etc/postgresql/hba"
# A certificate nobody verifies (sslmode=require) still expires: pulumi_tls renews it on the
# first `pulumi up` within the last 30 days of its two years.
CERT_VALIDITY_HOURS = 2 * 365 * 24
CERT_EARLY_RENEWAL_HOURS = 30 * 24
# The socket for the entrypoint's first-run setup and pg_isready; TCP over TLS only, by password.
PG_HBA = """\
local all all scram-sha-256
hostssl all all 0.0.0.0/0 scram-sha-256
hostssl all all ::/0 scram-sha-256
"""
# The files of POSTGRES_TLS_SECRET and the fields of the database secret's ``tls`` they come from.
TLS_FILES = {"tls.crt": "certificate", "tls.key": "private_key"}
REQUESTS = {"cpu": "50m", "memory": "128Mi"}
LIMITS = {"cpu": "500m", "memory": "512Mi"}


def postgres_host(namespace: str) -> str:
    """The Service the proxy and its migration Job connect to."""
    return f"{POSTGRES_NAME}.{namespace}.svc"


def postgres_labels(labels: dict[str, str]) -> dict[str, str]:
    return {**labels, names.NAME_LABEL: POSTGRES_NAME}


def postgres_certificate(parent: pulumi.Resource, name: str, *, namespace: str) -> pulumi.Output:
    """The key and self-signed certificate PostgreSQL serves, as the ``tls`` object of the database
    secret's JSON, which External Secrets syncs into ``POSTGRES_TLS_SECRET`` (``TLS_FILES``); secret.
    Its fields have no dot: External Secrets reads ``property`` as a JSON path (``tls.certificate``)."""
    key = tls.PrivateKey(f"{name}-postgres-tls-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child(parent))
    host = postgres_host(namespace)
    cert = tls.SelfSignedCert(
        f"{name}-postgres-tls-cert",
        private_key_pem=key.private_key_pem,
        subject={"common_name": host, "organization": "maas"},
        dns_names=[host, f"{host}.cluster.local", POSTGRES_NAME],
        validity_period_hours=CERT_VALIDITY_HOURS,
        early_renewal_hours=CERT_EARLY_RENEWAL_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        opts=child(parent),
    )
    return pulumi.Output.secret(pulumi.Output.all(certificate=cert.cert_pem, private_key=key.private_key_pem))


def postgres_statefulset(
    parent: pulumi.Resource, name: str, *, namespace: str, labels: dict[str, str], storage_class: str,
    database: str, user: str, credentials_secret: str, depends_on: Sequence[pulumi.Resource],
) -> k8s.apps.v1.StatefulSet:
    """One PostgreSQL pod on an encrypted volume, restricted, reached through its Service; its
    NetworkPolicy is the gateway's (``allow-postgres``)."""
    own = postgres_labels(labels)
    selector = {names.NAME_LABEL: POSTGRES_NAME}
    meta = {"name": POSTGRES_NAME, "namespace": namespace, "labels": own}
    after = child(parent, depends_on=list(depends_on))
    hba = k8s.core.v1.ConfigMap(f"{name}-postgres-hba", metadata=meta, data={"pg_hba.conf": PG_HBA}, opts=after)
    account = k8s.core.v1.ServiceAccount(f"{name}-postgres-service-account", metadata=meta,
                                         automount_service_account_token=False, opts=after)
    service = k8s.core.v1.Service(
        f"{name}-postgres-service", metadata=meta,
        spec={"type": "ClusterIP", "selector": selector,
              "ports": [{"name": "postgres", "port": POSTGRES_PORT, "targetPort": "postgres", "protocol": "TCP"}]},
        opts=after,
    )
    ready = {"exec": {"command": ["pg_isready", "--username", user, "--dbname", database, "--timeout", "3"]}}
    env: list[dict[str, Any]] = [
        {"name": "POSTGRES_DB", "value": database},
        {"name": "POSTGRES_USER", "valueFrom": {"secretKeyRef": {"name": credentials_secret, "key": "username"}}},
        {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": credentials_secret, "key": "password"}}},
        {"name": "PGDATA", "value": f"{DATA_DIR}/pgdata"},
    ]
    return k8s.apps.v1.StatefulSet(
        f"{name}-postgres",
        metadata=meta,
        spec={
            "replicas": 1,
            "serviceName": POSTGRES_NAME,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": own},
                "spec": {
                    "serviceAccountName": POSTGRES_NAME,
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": POSTGRES_UID, "runAsGroup": POSTGRES_UID,
                                        "fsGroup": POSTGRES_UID, "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 60,
                    "containers": [{
                        "name": "postgres", "image": POSTGRES_IMAGE, "imagePullPolicy": "IfNotPresent",
                        "args": ["-c", "ssl=on", "-c", f"ssl_cert_file={TLS_DIR}/tls.crt",
                                 "-c", f"ssl_key_file={TLS_DIR}/tls.key", "-c", "ssl_min_protocol_version=TLSv1.2",
                                 "-c", f"hba_file={HBA_DIR}/pg_hba.conf", "-c", "log_connections=on"],
                        "env": env,
                        "ports": [{"name": "postgres", "containerPort": POSTGRES_PORT, "protocol": "TCP"}],
                        "resources": {"requests": dict(REQUESTS), "limits": dict(LIMITS)},
                        "readinessProbe": {**ready, "periodSeconds": 10, "timeoutSeconds": 5},
                        "livenessProbe": {**ready, "initialDelaySeconds": 30, "periodSeconds": 20, "timeoutSeconds": 5,
                                          "failureThreshold": 6},
                        "securityContext": names.restricted_container_security_context(),
                        "volumeMounts": [
                            {"name": "data", "mountPath": DATA_DIR},
                            {"name": "run", "mountPath": "/var/run/postgresql"},
                            {"name": "tmp", "mountPath": "/tmp"},
                            {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                            {"name": "hba", "mountPath": HBA_DIR, "readOnly": True},
                        ],
                    }],
                    "volumes": [
                        {"name": "run", "emptyDir": {"sizeLimit": "16Mi"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                        {"name": "tls", "secret": {"secretName": POSTGRES_TLS_SECRET, "defaultMode": 0o440}},
                        {"name": "hba", "configMap": {"name": POSTGRES_NAME}},
                    ],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data", "labels": own},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                         "resources": {"requests": {"storage": POSTGRES_VOLUME_SIZE}}},
            }],
        },
        opts=child(parent, depends_on=[*depends_on, hba, account, service]),
    )
