"""The price table (``prices.yaml``): list prices per region, each with its source and date."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal, Optional

import yaml

from ..config.loader import ConfigError

PRICES_FILE = Path(__file__).with_name("prices.yaml")
KINDS = ("baseline", "usage")
CENT = Decimal("0.01")


class MissingPrice(LookupError):
    """The table has no price for what a resource needs; the resource is listed as unpriced."""

    def __init__(self, key: str, region: str):
        self.key, self.region = key, region
        super().__init__(f"no price '{key}' for {region} in prices.yaml")


@dataclass(frozen=True)
class Price:
    key: str
    value: float
    unit: str
    kind: Literal["baseline", "usage"]
    source: str
    date: str
    note: str = ""


@dataclass(frozen=True)
class Component:
    """One line of a resource's monthly cost: ``quantity`` of ``unit`` at ``unit_price``."""

    name: str
    quantity: float
    unit: str
    unit_price: float
    kind: Literal["baseline", "usage"]
    price: str

    @property
    def monthly(self) -> Decimal:
        return money(Decimal(repr(self.quantity)) * Decimal(repr(self.unit_price)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "quantity": round(self.quantity, 4),
            "unit": self.unit,
            "unit_price": self.unit_price,
            "monthly": float(self.monthly),
            "kind": self.kind,
            "price": self.price,
        }


def money(value: Decimal) -> Decimal:
    """Rounded to cents, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PriceTable:
    """The prices of one region, plus what every region shares (hours, instance sizes)."""

    region: str
    currency: str
    hours_per_month: float
    prices: dict[str, Price]
    instance_specs: dict[str, dict[str, float]]

    def get(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise MissingPrice(key, self.region) from None

    def component(self, name: str, key: str, quantity: float, kind: Optional[str] = None) -> Component:
        """A cost line priced at ``key``; ``kind`` overrides the price's own kind."""
        price = self.get(key)
        return Component(name=name, quantity=float(quantity), unit=price.unit, unit_price=price.value,
                         kind=kind or price.kind, price=key)  # type: ignore[arg-type]

    def hourly(self, name: str, key: str, count: float = 1, kind: Optional[str] = None) -> Component:
        """``count`` things priced per hour, for a whole month."""
        return self.component(name, key, count * self.hours_per_month, kind)


def read_price_file(path: Path = PRICES_FILE) -> dict[str, Any]:
    """The whole price file, validated: every price has value, unit, kind, source and date."""
    document = yaml.safe_load(path.read_text()) or {}
    where = str(path.name)
    if not isinstance(document.get("regions"), dict) or not document["regions"]:
        raise ConfigError("regions: expected prices per region", where)
    hours = document.get("hours_per_month")
    if not isinstance(hours, (int, float)) or hours <= 0:
        raise ConfigError("hours_per_month: expected a positive number", where)
    for region, prices in document["regions"].items():
        if not isinstance(prices, dict):
            raise ConfigError(f"regions.{region}: expected price key -> price", where)
        for key, price in prices.items():
            field = f"regions.{region}.{key}"
            if not isinstance(price, dict):
                raise ConfigError(f"{field}: expected value, unit, kind, source and date", where)
            missing = [k for k in ("value", "unit", "kind", "source", "date") if price.get(k) in (None, "")]
            if missing:
                raise ConfigError(f"{field}: missing {', '.join(missing)}", where)
            if not isinstance(price["value"], (int, float)) or price["value"] < 0:
                raise ConfigError(f"{field}.value: expected a number >= 0", where)
            if price["kind"] not in KINDS:
                raise ConfigError(f"{field}.kind: '{price['kind']}' is not one of {', '.join(KINDS)}", where)
            if not str(price["source"]).startswith("https://"):
                raise ConfigError(f"{field}.source: expected the https:// address of the pricing page", where)
    return document


_CACHE: dict[Path, dict[str, Any]] = {}


def load_prices(region: str, path: Optional[Path] = None) -> PriceTable:
    """The price table of ``region``; an unknown region gives an empty table (all unpriced)."""
    path = path or PRICES_FILE
    if path not in _CACHE:
        _CACHE[path] = read_price_file(path)
    document = _CACHE[path]
    raw = document["regions"].get(region) or {}
    prices = {
        key: Price(key=key, value=float(p["value"]), unit=str(p["unit"]), kind=p["kind"], source=str(p["source"]),
                   date=str(p["date"]), note=str(p.get("note") or ""))
        for key, p in raw.items()
    }
    specs = {name: {k: float(v) for k, v in spec.items()} for name, spec in (document.get("instance_specs") or {}).items()}
    return PriceTable(region=region, currency=str(document.get("currency", "USD")),
                      hours_per_month=float(document["hours_per_month"]), prices=prices, instance_specs=specs)
