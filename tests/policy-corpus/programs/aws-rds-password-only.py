# advise: [MAAS-SEC-022]
"""A PostgreSQL instance that accepts passwords only: IAM database authentication switched off."""
import kit

kit.database("orders-db", iam_database_authentication_enabled=False)
