# expect: [MAAS-STK-010]
"""pulumi-command is not installed here, so the resource is declared by its type token: a local
command that runs `aws iam create-user` at deploy time, which no rule could judge."""
import pulumi


class Command(pulumi.CustomResource):
    def __init__(self, name, props, opts=None):
        super().__init__("command:local:Command", name, props, opts)


Command("make-user", {"create": "aws iam create-user --user-name backdoor"})
