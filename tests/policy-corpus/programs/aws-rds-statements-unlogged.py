# advise: [MAAS-LOG-004]
"""A PostgreSQL instance whose parameter group logs no statement (log_statement none)."""
import kit

kit.database("orders-db", parameters=[{"name": "rds.force_ssl", "value": "1"}, {"name": "log_statement", "value": "none"}])
