"""``python -m maas_platform.cli``: the ``maas`` command."""

from . import app

app()
