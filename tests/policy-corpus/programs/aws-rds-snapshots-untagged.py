# advise: [MAAS-REL-010]
"""A database instance whose snapshots do not carry its tags (copyTagsToSnapshot left out: false)."""
import kit

kit.database("orders-db", copy_tags_to_snapshot=None)
