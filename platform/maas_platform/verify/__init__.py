"""``maas verify``: the live account checked against what the offline plan promised."""
