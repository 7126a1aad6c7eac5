"""How the offline plan shows what it cannot show: a secret, and a value known only after apply.

The plan JSON, the policy rules and the CrossGuard adapter all read these markers, so they
are defined once, outside any package that imports the SDK's runtime.
"""

SECRET = "[secret]"
UNKNOWN_VALUE = "[unknown]"
