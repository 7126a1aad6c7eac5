# secure: true
"""A PostgreSQL instance with IAM authentication, tagged snapshots, minor upgrades and its own parameter group
logging schema changes, all auto-named: the rules pair the instance and its group by engine reference."""
import kit

kit.database("orders-db")
