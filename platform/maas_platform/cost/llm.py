"""LLM spend of a plan's agents: tokens per month per agent and model, priced per model.

Beside the AWS figures, never inside them: ``monthly_total``, ``by_agent`` and ``by_team`` of the
estimate stay what AWS bills for the resources; ``llm`` is a separate block (see ``docs/cost.md``).
Bedrock calls are billed by AWS too, under the agent's inference profiles and tags, but they are
usage the plan cannot see, so they are estimated here from token assumptions like the gateway's.

Which models an agent calls is read from the plan, where the platform turned its ``llm``
declaration into resources:

- Bedrock: the agent's application inference profiles (one per declared model), whose
  ``modelSource.copyFrom`` names the foundation model or the system inference profile it copies;
- the gateway: the allow-list of the agent's gateway key, the ``models`` of the key request the
  platform registers with the gateway (see :func:`gateway_models`).

Tokens come from ``usage.yaml`` (``agent.llm``, per environment, per agent, per model), prices
from ``llm_tokens`` of ``prices.yaml``; a model without a price is listed under ``unpriced``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .. import names
from .prices import LLM_PATHS, PriceTable, money
from .usage import Usage

if TYPE_CHECKING:  # the pipeline hands the estimate a plan; pricing never makes one
    from ..plan.model import Plan, PlannedResource

ZERO = Decimal("0.00")
THOUSAND = Decimal(1000)
# Region prefixes of Bedrock's system (cross-region) inference profiles: us.anthropic... -> anthropic...
_PROFILE_PREFIX = re.compile(r"^(us|eu|apac|us-gov|ca|jp|au|global)\.")
# A gateway model as the config declares it: <provider>/<model>.
_GATEWAY_MODEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}/[A-Za-z0-9][A-Za-z0-9._:\-]{0,100}$")


def bedrock_model(copy_from: Any) -> Optional[str]:
    """The foundation-model id an application inference profile copies, from its ``copyFrom`` ARN.

    ``arn:aws:bedrock:<region>::foundation-model/<model>`` gives ``<model>``;
    ``arn:aws:bedrock:<region>:<account>:inference-profile/us.<model>`` gives ``<model>``.
    """
    if not isinstance(copy_from, str) or "/" not in copy_from:
        return None
    kind, _, model = copy_from.split(":", 5)[-1].partition("/")
    if kind == "inference-profile":
        model = _PROFILE_PREFIX.sub("", model)
    return model if kind in ("foundation-model", "inference-profile") and model else None


def bedrock_models(resources: Iterable[PlannedResource]) -> list[str]:
    """The models of the application inference profiles among ``resources``."""
    found = set()
    for resource in resources:
        if resource.type == names.BEDROCK_INFERENCE_PROFILE:
            model = bedrock_model((resource.inputs.get("modelSource") or {}).get("copyFrom"))
            if model:
                found.add(model)
    return sorted(found)


def gateway_models(plan: Plan, agent: str) -> list[str]:
    """The allow-list of the agent's gateway credential, as the plan shows it.

    The platform registers each agent's key with the gateway from data in the gateway's namespace:
    a ConfigMap holding, as JSON, the body of LiteLLM's ``/key/generate`` for every agent (its
    ``key_alias`` is the agent's name, ``models`` its allow-list). The entry is found by that
    content, not by the ConfigMap's name; names of another form than ``<provider>/<model>`` are
    not gateway models.
    """
    found: set[str] = set()
    for resource in plan.of_type(names.K8S_CONFIG_MAP):
        metadata = resource.inputs.get("metadata") if isinstance(resource.inputs.get("metadata"), dict) else {}
        if metadata.get("namespace") != names.LLM_GATEWAY_NAMESPACE:
            continue
        for document in _json_values(resource.inputs.get("data")):
            for request in (document.values() if "key_alias" not in document else [document]):
                if isinstance(request, dict) and request.get("key_alias") == agent and isinstance(request.get("models"), list):
                    found.update(m for m in request["models"] if isinstance(m, str) and _GATEWAY_MODEL.match(m))
    return sorted(found)


def _json_values(data: Any) -> list[dict[str, Any]]:
    """The entries of a ConfigMap's ``data`` that hold a JSON object."""
    documents = []
    for value in (data.values() if isinstance(data, dict) else ()):
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                documents.append(parsed)
    return documents


def declared_models(plan: Plan, agent_urn: str, agent: str) -> dict[str, list[str]]:
    """path (bedrock, gateway) -> the models the agent calls through it, from the plan."""
    declared = {"bedrock": bedrock_models(plan.descendants(agent_urn)), "gateway": gateway_models(plan, agent)}
    return {path: models for path, models in declared.items() if models}


def tokens(usage: Usage, agent: str, model: str) -> tuple[float, float]:
    """Input and output tokens per month the agent is assumed to exchange with ``model``."""
    section = dict(usage.agent(agent).get("llm") or {})
    section.update((section.get("models") or {}).get(model) or {})
    return float(section["input_tokens_per_month"]), float(section["output_tokens_per_month"])


def llm_estimate(plan: Plan, table: PriceTable, usage: Usage) -> dict[str, Any]:
    """The ``llm`` block of the estimate: LLM spend per agent (and model) and per team."""
    by_agent: dict[str, Any] = {}
    unpriced: list[dict[str, Any]] = []
    for urn, agent in sorted(plan.agents.items(), key=lambda item: item[1].name):
        declared = declared_models(plan, urn, agent.name)
        if not declared:
            continue
        lines, totals = [], {path: ZERO for path in LLM_PATHS}
        for path in LLM_PATHS:
            for model in declared.get(path, []):
                input_tokens, output_tokens = tokens(usage, agent.name, model)
                price = table.llm_price(path, model)
                if price is None:
                    where = f"for {table.region} " if path == "bedrock" else ""
                    unpriced.append({"agent": agent.name, "path": path, "model": model,
                                     "reason": f"no token price {where}in prices.yaml llm_tokens.{path}"})
                    continue
                monthly = money(Decimal(repr(input_tokens)) / THOUSAND * Decimal(repr(price.input))
                                + Decimal(repr(output_tokens)) / THOUSAND * Decimal(repr(price.output)))
                totals[path] += monthly
                lines.append({
                    "path": path, "model": model,
                    "input_tokens": input_tokens, "output_tokens": output_tokens,
                    "input_usd_per_1k": price.input, "output_usd_per_1k": price.output,
                    "monthly": float(monthly), "source": price.source, "date": price.date,
                })
        by_agent[agent.name] = {
            "team": agent.team,
            "monthly": float(sum(totals.values(), ZERO)),
            **{path: float(total) for path, total in totals.items()},
            "models": lines,
        }
    teams: dict[str, dict[str, Any]] = {}
    for name, figures in by_agent.items():
        team = teams.setdefault(figures["team"], {"agents": [], **{p: ZERO for p in ("monthly", *LLM_PATHS)}})
        team["agents"].append(name)
        for key in ("monthly", *LLM_PATHS):
            team[key] += Decimal(str(figures[key]))
    return {
        "monthly": float(sum((Decimal(str(f["monthly"])) for f in by_agent.values()), ZERO)),
        **{path: float(sum((Decimal(str(f[path])) for f in by_agent.values()), ZERO)) for path in LLM_PATHS},
        "by_agent": by_agent,
        "by_team": {name: {"agents": sorted(t["agents"]), **{k: float(v) for k, v in t.items() if k != "agents"}}
                    for name, t in sorted(teams.items())},
        "unpriced": unpriced,
        "basis": "tokens per month per agent and model (usage.yaml agent.llm) at list prices per 1,000 tokens "
                 "(prices.yaml llm_tokens); not part of monthly_total",
    }
