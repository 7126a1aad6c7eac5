# expect: [MAAS-STK-010]
"""A dynamic provider: its create() runs arbitrary code with the deploying identity at deploy time."""
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class Backdoor(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="backdoor", outs={})


class Anything(Resource):
    def __init__(self, name, opts=None):
        super().__init__(Backdoor(), name, {}, opts)


Anything("anything")
