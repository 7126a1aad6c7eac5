"""The price table (``prices.yaml``): list prices per region, each with its source and date."""

from __future__ import annotations

from dataclasses import dataclass, field
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


SPOT_PREFIX = "ec2.spot."
LLM_PATHS = ("bedrock", "gateway")
LLM_UNIT = "1k-tokens"


@dataclass(frozen=True)
class LlmPrice:
    """What 1,000 input and 1,000 output tokens of one model cost through one path (bedrock, gateway)."""

    model: str
    path: str
    input: float
    output: float
    source: str
    date: str
    note: str = ""


@dataclass(frozen=True)
class SpotAssumption:
    """What Spot capacity costs where the table records no ``ec2.spot.<type>`` price: the on-demand
    price less ``discount`` (0-1). ``not_offered``: catalog types the Spot feed had no price for."""

    discount: float
    source: str
    date: str
    note: str = ""
    not_offered: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceTable:
    """The prices of one region, plus what every region shares (hours, instance sizes)."""

    region: str
    currency: str
    hours_per_month: float
    prices: dict[str, Price]
    instance_specs: dict[str, dict[str, Any]]
    spot: Optional["SpotAssumption"] = None
    # (path, model) -> token prices: Bedrock's of this region, the gateway providers' everywhere.
    llm: dict[tuple[str, str], LlmPrice] = field(default_factory=dict)

    def llm_price(self, path: str, model: str) -> Optional[LlmPrice]:
        """The token prices of ``model`` through ``path`` here, if the table records them."""
        return self.llm.get((path, model))

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

    def spot_price(self, instance_type: str) -> Optional[Price]:
        """The recorded Spot price of ``instance_type`` in this region, if the table has one."""
        return self.prices.get(f"{SPOT_PREFIX}{instance_type}")

    def spot_hourly(self, instance_type: str, on_demand: float) -> tuple[float, str]:
        """USD per hour of a Spot node of ``instance_type`` and what it rests on: the recorded price,
        capped at ``on_demand`` (no maximum price is set, so EC2 caps it there), else the on-demand
        price less the region's fallback discount."""
        recorded = self.spot_price(instance_type)
        if recorded is not None:
            if recorded.value > on_demand:
                return on_demand, f"Spot price of {recorded.date} above on-demand: capped at on-demand"
            return recorded.value, f"Spot price of {recorded.date}"
        discount = self.spot.discount if self.spot else 0.0
        return on_demand * (1 - discount), f"no recorded Spot price: on-demand less {discount:.0%}"

    def spot_summary(self) -> Optional[dict[str, Any]]:
        """The Spot assumption the estimate reports: where the recorded prices come from, and the fallback."""
        recorded = sorted((p for k, p in self.prices.items() if k.startswith(SPOT_PREFIX)), key=lambda p: p.key)
        if self.spot is None and not recorded:
            return None
        summary: dict[str, Any] = {}
        if self.spot is not None:
            summary.update({"discount": self.spot.discount, "source": self.spot.source, "date": self.spot.date,
                            "note": self.spot.note, "not_offered": list(self.spot.not_offered)})
        summary["recorded_prices"] = {
            "instance_types": len(recorded),
            "sources": sorted({p.source for p in recorded}),
            "dates": sorted({p.date for p in recorded}),
            "notes": sorted({p.note for p in recorded if p.note}),
        } if recorded else None
        summary["basis"] = ("each Spot node at its type's recorded Spot price (the lowest in the region at fetch "
                            "time: optimistic), capped at on-demand; types without one at on-demand less the "
                            "discount" if recorded else "on-demand less the discount: no Spot price recorded")
        return summary


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
            if key.startswith(SPOT_PREFIX) and price["unit"] != "instance-hour":
                raise ConfigError(f"{field}.unit: expected instance-hour", where)
    for region, spot in (document.get("spot") or {}).items():
        field = f"spot.{region}"
        missing = [k for k in ("discount", "source", "date") if not isinstance(spot, dict) or spot.get(k) in (None, "")]
        if missing:
            raise ConfigError(f"{field}: missing {', '.join(missing)}", where)
        if not isinstance(spot["discount"], (int, float)) or not 0 <= spot["discount"] < 1:
            raise ConfigError(f"{field}.discount: expected a fraction from 0 to below 1", where)
        if not str(spot["source"]).startswith("https://"):
            raise ConfigError(f"{field}.source: expected the https:// address of the pricing page", where)
        not_offered = spot.get("not_offered") or []
        if not isinstance(not_offered, list) or not all(isinstance(t, str) for t in not_offered):
            raise ConfigError(f"{field}.not_offered: expected a list of instance types", where)
        priced = [t for t in not_offered if f"{SPOT_PREFIX}{t}" in (document["regions"].get(region) or {})]
        if priced:
            raise ConfigError(f"{field}.not_offered: {', '.join(priced)} also has a recorded ec2.spot price", where)
    _check_llm_prices(document.get("llm_tokens"), where)
    return document


def _check_llm_prices(section: Any, where: str) -> None:
    """``llm_tokens``: ``bedrock.<region>.<model>`` and ``gateway.<model>``, each with input, output, unit, source, date."""
    if section is None:
        return
    if not isinstance(section, dict) or set(section) - set(LLM_PATHS):
        raise ConfigError(f"llm_tokens: expected {' and '.join(LLM_PATHS)}", where)
    entries = [(f"llm_tokens.bedrock.{region}.{model}", price)
               for region, models in (section.get("bedrock") or {}).items() for model, price in (models or {}).items()]
    entries += [(f"llm_tokens.gateway.{model}", price) for model, price in (section.get("gateway") or {}).items()]
    for field_name, price in entries:
        missing = [k for k in ("input", "output", "unit", "source", "date") if not isinstance(price, dict) or price.get(k) in (None, "")]
        if missing:
            raise ConfigError(f"{field_name}: missing {', '.join(missing)}", where)
        for kind in ("input", "output"):
            if isinstance(price[kind], bool) or not isinstance(price[kind], (int, float)) or price[kind] < 0:
                raise ConfigError(f"{field_name}.{kind}: expected USD per 1,000 tokens, a number >= 0", where)
        if price["unit"] != LLM_UNIT:
            raise ConfigError(f"{field_name}.unit: expected {LLM_UNIT}", where)
        if not str(price["source"]).startswith("https://"):
            raise ConfigError(f"{field_name}.source: expected the https:// address of the pricing page", where)


def _llm_prices(document: dict[str, Any], region: str) -> dict[tuple[str, str], LlmPrice]:
    section = document.get("llm_tokens") or {}
    found = [("bedrock", model, p) for model, p in ((section.get("bedrock") or {}).get(region) or {}).items()]
    found += [("gateway", model, p) for model, p in (section.get("gateway") or {}).items()]
    return {
        (path, str(model)): LlmPrice(model=str(model), path=path, input=float(p["input"]), output=float(p["output"]),
                                     source=str(p["source"]), date=str(p["date"]), note=str(p.get("note") or ""))
        for path, model, p in found
    }


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
    specs = {name: {k: (v if isinstance(v, str) else float(v)) for k, v in spec.items()}
             for name, spec in (document.get("instance_specs") or {}).items()}
    spot_raw = (document.get("spot") or {}).get(region)
    spot = SpotAssumption(discount=float(spot_raw["discount"]), source=str(spot_raw["source"]), date=str(spot_raw["date"]),
                          note=str(spot_raw.get("note") or ""),
                          not_offered=tuple(str(t) for t in spot_raw.get("not_offered") or ())) if spot_raw else None
    return PriceTable(region=region, currency=str(document.get("currency", "USD")),
                      hours_per_month=float(document["hours_per_month"]), prices=prices, instance_specs=specs, spot=spot,
                      llm=_llm_prices(document, region))
