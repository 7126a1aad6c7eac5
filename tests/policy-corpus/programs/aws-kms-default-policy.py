# advise: [MAAS-SEC-021]
"""A rotated customer-managed key created without a key policy: AWS's default lets every identity policy of the
account use it."""
import kit

kit.key("orders-key", policy=None)
