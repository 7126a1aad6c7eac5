"""The LLM gateway's configuration judged by LiteLLM itself: the proxy's config file, the key
requests the registration Job sends and the revocations, each validated with the pydantic models
of the litellm release the chart pins (litellm/proxy/_types.py: ConfigYAML, ConfigGeneralSettings,
GenerateKeyRequest, UpdateKeyRequest, KeyRequest), and the token prices of the estimate against
the cost map the gateway prices its spend metric with (LiteLLM's bundled
model_prices_and_context_window_backup.json).

LiteLLM's models accept unknown fields (pydantic's default), so each test also holds the keys the
platform writes to the models' declared fields: a misspelt setting would otherwise pass and be
ignored by the proxy.

litellm is imported in a process of its own (:func:`judge`): importing it changes how other
libraries of the test process serialise JSON, which the moto server and the manifest tests use.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from importlib import metadata
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform import names
from maas_platform.components.llmgateway import LITELLM_CHART, gateway_keys, proxy_config, revoked_aliases
from maas_platform.config.loader import parse_platform_config, read_stack_file
from maas_platform.plan import Plan

KEY_VALUE = "sk-" + "a" * 40  # the registration Job's values: "sk-" and 40 characters (components/llmgateway.py)

# Run with the documents to judge on stdin; prints what LiteLLM says about each.
JUDGE = r'''
import json, sys, typing
import litellm
from pydantic import ValidationError
from litellm.proxy._types import ConfigGeneralSettings, ConfigYAML, GenerateKeyRequest, KeyRequest, UpdateKeyRequest
MODELS = {m.__name__: m for m in (ConfigGeneralSettings, ConfigYAML, GenerateKeyRequest, KeyRequest, UpdateKeyRequest)}
asked = json.load(sys.stdin)
def verdict(model, document):
    try:
        MODELS[model].model_validate(document)
        return None
    except ValidationError as error:
        return str(error).splitlines()[0]
print(json.dumps({
    "fields": {name: sorted(model.model_fields) for name, model in MODELS.items()},
    "callbacks": sorted(typing.get_args(litellm._custom_logger_compatible_callbacks_literal)),
    "settings": {key: hasattr(litellm, key) for key in asked["settings"]},
    "verdicts": [verdict(model, document) for model, document in asked["documents"]],
    "costs": {m: [litellm.model_cost[m]["input_cost_per_token"], litellm.model_cost[m]["output_cost_per_token"]]
              for m in asked["costs"] if m in litellm.model_cost},
}))
'''


def judge(documents: list[tuple[str, Any]], settings: tuple[str, ...] = (), costs: tuple[str, ...] = ()) -> dict[str, Any]:
    """What litellm's models say of ``documents`` (model name, document), in a process of its own;
    the cost map is the package's own, never fetched (LITELLM_LOCAL_MODEL_COST_MAP, get_model_cost_map.py)."""
    answer = subprocess.run(
        [sys.executable, "-c", JUDGE], input=json.dumps({"documents": documents, "settings": settings, "costs": costs}),
        capture_output=True, text=True, timeout=120, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    return json.loads(answer.stdout.strip().splitlines()[-1])


def _dev_config():
    values = {k.removeprefix("maas:"): v for k, v in read_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml").items()}
    return parse_platform_config(values)


def _release_values(plan: Plan) -> dict[str, Any]:
    (release,) = [r for r in plan.resources if r["type"] == names.HELM_RELEASE and r["name"].endswith("-litellm-helm")]
    return release["inputs"]["values"]


def test_the_pinned_litellm_is_the_chart_pins():
    """The models below are the release the gateway runs: pyproject's dev pin follows the chart's."""
    pin = re.search(r'"litellm==([0-9.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert pin == LITELLM_CHART.version == LITELLM_CHART.app_version == metadata.version("litellm")


def test_the_proxy_config_of_the_dev_plan_is_a_litellm_config(dev):
    config = _release_values(dev)["proxy_config"]
    said = judge([("ConfigYAML", config), ("ConfigGeneralSettings", config["general_settings"])],
                 settings=tuple(config["litellm_settings"]))
    assert said["verdicts"] == [None, None]
    assert set(config) <= set(said["fields"]["ConfigYAML"])
    assert set(config["general_settings"]) <= set(said["fields"]["ConfigGeneralSettings"])
    # litellm_settings are set as attributes of the litellm module (proxy_server.py load_config).
    assert all(said["settings"].values()) and said["settings"]
    assert set(config["litellm_settings"]["callbacks"]) <= set(said["callbacks"])
    assert {m["model_name"] for m in config["model_list"]} == {"openai/gpt-4.1-mini"}
    for model in config["model_list"]:
        assert model["litellm_params"]["api_key"].startswith("os.environ/"), "the provider key comes from the pod's environment"


def test_a_misspelt_or_mistyped_setting_is_caught():
    config = proxy_config(_dev_config().llm.providers, _dev_config().agents)
    misspelt = {**config["general_settings"], "store_models_in_db": False}  # the field is store_model_in_db
    mistyped = {**config, "model_list": [{**config["model_list"][0], "litellm_params": "openai/gpt-4.1-mini"}]}
    said = judge([("ConfigYAML", mistyped)])
    assert said["verdicts"][0] is not None
    assert not set(misspelt) <= set(said["fields"]["ConfigGeneralSettings"])


def test_every_key_request_is_one_litellm_accepts_on_create_and_on_update():
    config = _dev_config()
    bodies = [{**body, "key": KEY_VALUE} for replicas in (1, 2) for body in gateway_keys(config.agents, replicas).values()]
    assert len(bodies) == 4 and {b["key_alias"] for b in bodies} == {"triage", "research"}
    wrong = {**bodies[0], "max_budget": "a lot"}
    documents = [(model, body) for body in bodies for model in ("GenerateKeyRequest", "UpdateKeyRequest")]
    said = judge([*documents, ("GenerateKeyRequest", wrong)])
    assert said["verdicts"][:-1] == [None] * len(documents)
    assert said["verdicts"][-1] is not None, "a request LiteLLM would refuse is told apart"
    for body in bodies:
        for model in ("GenerateKeyRequest", "UpdateKeyRequest"):
            assert set(body) <= set(said["fields"][model]), (model, set(body) - set(said["fields"][model]))


def test_revocations_are_key_requests_by_alias():
    config = _dev_config()
    retired = [a.model_copy(update={"retired": True, "retired_on": "2026-11-01"}) for a in config.agents]
    aliases = revoked_aliases(retired)
    assert aliases == ["research", "triage"]
    said = judge([*(("KeyRequest", {"key_aliases": [alias]}) for alias in aliases), ("KeyRequest", {})])
    assert said["verdicts"] == [None, None, said["verdicts"][-1]] and said["verdicts"][-1] is not None


def _per_million(value: float, scale: int) -> Decimal:
    return (Decimal(str(value)) * scale).quantize(Decimal("0.0001"))


def test_the_estimates_token_prices_are_the_ones_the_gateway_measures_spend_with():
    """The gateway's spend metric is priced with LiteLLM's cost map; the estimate with prices.yaml.
    Where both price a model, they agree (per million tokens)."""
    prices = yaml.safe_load((ROOT / "platform" / "maas_platform" / "cost" / "prices.yaml").read_text())["llm_tokens"]
    ours = {model.split("/", 1)[1]: price for model, price in prices["gateway"].items()}
    ours |= {model: price for models in prices["bedrock"].values() for model, price in models.items()}
    costs = judge([], costs=tuple(ours))["costs"]
    assert set(costs) == set(ours), set(ours) - set(costs)
    for model, (input_cost, output_cost) in costs.items():
        assert ours[model]["unit"] == "1k-tokens"
        assert _per_million(ours[model]["input"], 1000) == _per_million(input_cost, 10**6), model
        assert _per_million(ours[model]["output"], 1000) == _per_million(output_cost, 10**6), model
