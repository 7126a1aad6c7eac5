# expect: [MAAS-SEC-016]
"""A ConfigMap holding a database password."""
import kit
import pulumi_kubernetes as k8s

k8s.core.v1.ConfigMap("settings", metadata=kit.metadata("settings"), data={
    "DATABASE_URL": "postgresql://orders:Sup3rS3cret!@orders-db:5432/orders", "DB_PASSWORD": "Sup3rS3cret!"})
