# advise: [MAAS-REL-009]
"""A database instance that never takes the engine's minor (security) releases."""
import kit

kit.database("orders-db", auto_minor_version_upgrade=False)
