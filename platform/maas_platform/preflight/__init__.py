"""``maas preflight``: what a fresh account needs before the first ``pulumi up`` of a stack.

Read-only like ``maas verify`` (whose boto3 account it reuses): the stack's config and its
offline plan say what ``pulumi up`` will need, the account says whether it is there.
"""
