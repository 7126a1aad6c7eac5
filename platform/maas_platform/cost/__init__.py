"""Offline monthly cost estimate of a plan, from list prices kept as data.

* ``prices.yaml``: AWS list prices per region, each with its unit, source page, date and
  kind — ``baseline`` (paid while the resource exists) or ``usage`` (priced through an
  assumption);
* ``usage.yaml``: the editable usage assumptions (GB, requests, active hours), per
  environment and per agent;
* :data:`~.rules.RULES`: type token -> pricing function; :data:`~.rules.FREE`: types that
  cost nothing by themselves. Anything else is listed as ``unpriced``, never zero;
* ``workloads.yaml``: the pods each pinned chart and EKS add-on runs; :mod:`.pods` reads the
  plan's pods at rest and :mod:`.capacity` packs them onto node groups and node pools, which
  is how nodes are priced.

:func:`estimate` returns the plan's ``cost`` block (see ``docs/cost.md``).
"""

from .estimate import allocated_node_share, estimate
from .prices import PRICES_FILE, Component, MissingPrice, Price, PriceTable, load_prices, read_price_file
from .rules import FREE, RULES
from .usage import USAGE_FILE, Usage, load_usage

__all__ = [
    "FREE", "PRICES_FILE", "RULES", "USAGE_FILE", "Component", "MissingPrice", "Price", "PriceTable", "Usage",
    "allocated_node_share", "estimate", "load_prices", "load_usage", "read_price_file",
]
