"""The LLM gateway's configuration judged by LiteLLM itself: the proxy's config file, the key
requests the registration Job sends and the revocations, each validated with the pydantic models
of the litellm release the chart pins (litellm/proxy/_types.py: ConfigYAML, ConfigGeneralSettings,
GenerateKeyRequest, UpdateKeyRequest, KeyRequest), and the token prices of the estimate against
the cost map the gateway prices its spend metric with (LiteLLM's bundled
model_prices_and_context_window_backup.json).

LiteLLM's models accept unknown fields (pydantic's default), so each test also holds the keys the
platform writes to the models' declared fields: a misspelt setting would otherwise pass and be
ignored by the proxy.
"""

from __future__ import annotations

import os
from importlib import metadata
import re
import typing
from decimal import Decimal
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from conftest import ROOT
from maas_platform import names
from maas_platform.components.llmgateway import gateway_keys, proxy_config, revoked_aliases
from maas_platform.components.llmgateway import LITELLM_CHART
from maas_platform.config.loader import parse_platform_config, read_stack_file
from maas_platform.plan import Plan

# The cost map is read from the installed package, never fetched (get_model_cost_map.py).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402
from litellm.proxy._types import (  # noqa: E402
    ConfigGeneralSettings, ConfigYAML, GenerateKeyRequest, KeyRequest, UpdateKeyRequest,
)

KEY_VALUE = "sk-" + "a" * 40  # the registration Job's values: "sk-" and 40 characters (components/llmgateway.py)


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
    parsed = ConfigYAML.model_validate(config)
    assert {m.model_name for m in parsed.model_list} == {"openai/gpt-4.1-mini"}
    assert set(config) <= set(ConfigYAML.model_fields)
    assert set(config["general_settings"]) <= set(ConfigGeneralSettings.model_fields)
    ConfigGeneralSettings.model_validate(config["general_settings"])
    # litellm_settings are set as attributes of the litellm module (proxy_server.py load_config).
    assert all(hasattr(litellm, key) for key in config["litellm_settings"])
    callbacks = typing.get_args(litellm._custom_logger_compatible_callbacks_literal)
    assert set(config["litellm_settings"]["callbacks"]) <= set(callbacks)
    for model in config["model_list"]:
        params = model["litellm_params"]
        assert params["api_key"].startswith("os.environ/"), "the provider key is read from the pod's environment"


def test_a_misspelt_setting_is_caught():
    config = proxy_config(_dev_config().llm.providers, _dev_config().agents)
    config["general_settings"]["store_models_in_db"] = False  # the field is store_model_in_db
    assert not set(config["general_settings"]) <= set(ConfigGeneralSettings.model_fields)
    config["model_list"][0]["litellm_params"] = "openai/gpt-4.1-mini"
    with pytest.raises(ValidationError):
        ConfigYAML.model_validate(config)


@pytest.mark.parametrize("replicas", [1, 2])
def test_every_key_request_is_one_litellm_accepts_on_create_and_on_update(replicas):
    config = _dev_config()
    keys = gateway_keys(config.agents, replicas)
    assert set(keys) == {"triage", "research"}
    for agent, body in keys.items():
        request = {**body, "key": KEY_VALUE}
        for model in (GenerateKeyRequest, UpdateKeyRequest):
            assert set(request) <= set(model.model_fields), (model.__name__, set(request) - set(model.model_fields))
            parsed = model.model_validate(request)
            assert parsed.key_alias == agent and parsed.max_budget == body["max_budget"]
            assert parsed.models == body["models"] and parsed.budget_duration == "30d"


def test_a_wrong_key_request_is_refused():
    body = {**gateway_keys(_dev_config().agents)["triage"], "key": KEY_VALUE, "max_budget": "a lot"}
    with pytest.raises(ValidationError):
        GenerateKeyRequest.model_validate(body)


def test_revocations_are_key_requests_by_alias():
    config = _dev_config()
    retired = [a.model_copy(update={"retired": True, "retired_on": "2026-11-01"}) for a in config.agents]
    aliases = revoked_aliases(retired)
    assert aliases == ["research", "triage"]
    for alias in aliases:
        assert KeyRequest.model_validate({"key_aliases": [alias]}).key_aliases == [alias]
    with pytest.raises(ValidationError):
        KeyRequest.model_validate({})


def _per_million(value: float) -> Decimal:
    return (Decimal(str(value)) * 1000).quantize(Decimal("0.0001"))


def test_the_estimates_token_prices_are_the_ones_the_gateway_measures_spend_with():
    """The gateway's spend metric is priced with LiteLLM's cost map; the estimate with prices.yaml.
    Where both price a model, they agree (per million tokens)."""
    prices = yaml.safe_load((ROOT / "platform" / "maas_platform" / "cost" / "prices.yaml").read_text())["llm_tokens"]
    compared = 0
    for model, price in prices["gateway"].items():
        entry = litellm.model_cost[model.split("/", 1)[1]]
        assert price["unit"] == "1k-tokens"
        assert _per_million(price["input"]) == (Decimal(str(entry["input_cost_per_token"])) * 10**6).quantize(Decimal("0.0001"))
        assert _per_million(price["output"]) == (Decimal(str(entry["output_cost_per_token"])) * 10**6).quantize(Decimal("0.0001"))
        compared += 1
    for region, models in prices["bedrock"].items():
        for model, price in models.items():
            entry = litellm.model_cost.get(model)
            if entry is None:
                continue
            assert _per_million(price["input"]) == (Decimal(str(entry["input_cost_per_token"])) * 10**6).quantize(Decimal("0.0001")), (region, model)
            compared += 1
    assert compared >= 2
