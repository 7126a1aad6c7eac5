# expect: [MAAS-SEC-010]
"""A customer-managed key that is never rotated."""
import kit

kit.key("orders-key", enable_key_rotation=False)
