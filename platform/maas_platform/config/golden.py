"""A golden set: the cases one agent is probed with, and how each answer is judged.

A golden-set file is YAML (``cases: [...]``). Every case names the request sent to the agent's REST
entry and exactly one judge of the answer. Everything that can be checked without the agent is
checked when the file loads — a regular expression compiles, a JSON Schema is a valid schema, a
tolerance is not negative, ids are unique — so that a bad file fails at plan time with one line
(:func:`load_cases`), never in the middle of a probe run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from jsonschema import SchemaError, validators
from pydantic import Field, ValidationError, field_validator, model_validator

from .base import StrictModel
from .loader import ConfigError, format_validation_error

# A case id becomes a metric label value: short, lower case, stable.
CASE_ID = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
# Headers a golden set must not carry: a credential in a file of test cases leaks with it. The
# probe's own identity comes from its pod, not from the cases.
_CREDENTIAL_HEADER = re.compile(r"^(authorization|proxy-authorization|cookie)$|api[-_]?key|token|secret|password",
                                re.IGNORECASE)


class NumberExpect(StrictModel):
    """A number within an absolute tolerance, the whole answer or one value of a JSON answer."""

    value: float = Field(description="The expected number.")
    tolerance: float = Field(0.0, description="Largest absolute difference accepted, 0 or more; default 0 (exact).")
    path: Optional[str] = Field(None, description=(
        "JSON pointer (RFC 6901, e.g. /result/total) to the number inside a JSON answer; "
        "default: the whole answer is the number."))

    @field_validator("tolerance")
    @classmethod
    def _absolute(cls, value: float) -> float:
        if value < 0:
            raise ValueError(f"{value:g} is negative; a tolerance is an absolute difference, write 0 or more")
        return value

    @field_validator("path")
    @classmethod
    def _pointer(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value != "" and not value.startswith("/"):
            raise ValueError(f"'{value}' is not a JSON pointer; write it from the root, e.g. '/{value}'")
        return value


class ModelJudge(StrictModel):
    """A judge model, asked through the platform's LLM gateway with the agent's own credential: the
    prompt carries the answer (and the request), the judge's reply decides. Marked as such wherever
    results are counted (``maas_probe_model_judged_cases``): a model's verdict is an opinion, not a check."""

    model: str = Field(min_length=1, description=(
        "A model the agent may call through the gateway (one of its llm.gateway.models); checked at plan time."))
    prompt: str = Field(description=(
        "What the judge is asked; must contain {answer} (replaced by the agent's answer) and may contain "
        "{request} (the request's body). Ask for a reply that starts with PASS or FAIL."))
    pass_if: str = Field(r"^\s*(PASS|YES)\b", description=(
        "A Python regular expression (case-insensitive, re.search) the judge's reply must match for the case to "
        "pass; default: the reply starts with PASS or YES."))

    @field_validator("prompt")
    @classmethod
    def _carries_the_answer(cls, value: str) -> str:
        if "{answer}" not in value:
            raise ValueError("the prompt must contain {answer}, where the agent's answer goes")
        return value

    @field_validator("pass_if")
    @classmethod
    def _pass_if_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc}); fix the pattern") from None
        return value


class Expect(StrictModel):
    """How the answer is judged: exactly one of the fields is set."""

    exact: Optional[str] = Field(None, description="The answer, surrounding whitespace ignored.")
    contains: Optional[list[str]] = Field(None, min_length=1, description="Texts that must all appear in the answer.")
    regex: Optional[str] = Field(None, description="A Python regular expression the answer must match (re.search).")
    json_schema: Optional[dict[str, Any]] = Field(None, description=(
        "A JSON Schema the answer, parsed as JSON, must validate against (its $schema picks the draft)."))
    number: Optional[NumberExpect] = None
    model: Optional[ModelJudge] = Field(None, description="A judge model through the LLM gateway (marked as such).")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: Optional[str]) -> Optional[str]:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression ({exc}); fix the pattern") from None
        return value

    @field_validator("json_schema")
    @classmethod
    def _is_a_schema(cls, value: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
        if value is not None:
            try:
                validators.validator_for(value).check_schema(value)
            except SchemaError as exc:
                where = "/".join(str(p) for p in exc.path)
                raise ValueError(f"not a valid JSON Schema at '/{where}': {exc.message}; fix the schema") from None
        return value

    @model_validator(mode="after")
    def _one_judge(self) -> "Expect":
        judges = [name for name in JUDGES if getattr(self, name) is not None]
        if len(judges) != 1:
            found = ", ".join(judges) if judges else "none"
            raise ValueError(f"set exactly one of {', '.join(JUDGES)} (found {found})")
        return self

    @property
    def judge(self) -> str:
        """The name of the judge this case uses."""
        return next(name for name in JUDGES if getattr(self, name) is not None)


JUDGES = ("exact", "contains", "regex", "json_schema", "number", "model")


class Request(StrictModel):
    """What is sent to the agent: a path under its REST entry and a body."""

    path: str = Field("/", description="Path under the agent's REST entry; default '/'.")
    method: Literal["POST", "GET"] = Field("POST", description="POST (default) or GET.")
    json_body: Any = Field(None, alias="json", description="A JSON body (POST only).")
    text: Optional[str] = Field(None, description="A text body (POST only).")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers; never credentials.")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value.startswith("/") or "://" in value:
            raise ValueError(f"'{value}' must be a path under the agent's REST entry, starting with '/'")
        return value

    @field_validator("headers")
    @classmethod
    def _no_credentials(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if _CREDENTIAL_HEADER.search(name):
                raise ValueError(f"'{name}' carries a credential; golden sets hold none, remove the header")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> "Request":
        if self.json_body is not None and self.text is not None:
            raise ValueError("set json or text, not both")
        if self.method == "GET" and (self.json_body is not None or self.text is not None):
            raise ValueError("a GET sends no body; use method: POST or remove json/text")
        return self

    def body(self) -> tuple[Optional[bytes], Optional[str]]:
        """The encoded body and its content type, if any."""
        if self.json_body is not None:
            return json.dumps(self.json_body).encode(), "application/json"
        if self.text is not None:
            return self.text.encode(), "text/plain; charset=utf-8"
        return None, None


class Case(StrictModel):
    """One probe: a request and the judge of its answer."""

    id: str = Field(pattern=CASE_ID, description="Unique in the file; a metric label value (lower case, <= 63).")
    request: Request = Field(default_factory=Request)
    expect: Expect


class GoldenSet(StrictModel):
    """The cases of one agent."""

    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "GoldenSet":
        seen: dict[str, int] = {}
        for index, case in enumerate(self.cases):
            if case.id in seen:
                raise ValueError(f"cases[{index}] (id '{case.id}'): id already used by cases[{seen[case.id]}]; "
                                 "give every case its own id")
            seen[case.id] = index
        return self


_CASE_AT = re.compile(r"^cases\[(\d+)\]")


def _name_case(message: str, data: Any) -> str:
    """``cases[2].expect: ...`` becomes ``cases[2] (id 'refund').expect: ...`` when the case has an id."""
    match = _CASE_AT.match(message)
    cases = data.get("cases") if isinstance(data, dict) else None
    if not match or not isinstance(cases, list) or int(match.group(1)) >= len(cases):
        return message
    case = cases[int(match.group(1))]
    case_id = case.get("id") if isinstance(case, dict) else None
    if not isinstance(case_id, str) or message[match.end():].startswith(" (id"):
        return message
    return f"{match.group(0)} (id '{case_id}'){message[match.end():]}"


def parse_cases(data: Any, source: Optional[str] = None) -> GoldenSet:
    """Validate decoded YAML into a :class:`GoldenSet` or raise a one-line :class:`ConfigError`."""
    try:
        return GoldenSet.model_validate(data)
    except ValidationError as exc:
        message = format_validation_error(exc, root="", data=data, model=GoldenSet)
        # The loader's wording speaks of stack config; a golden set's keys are this module's models.
        message = message.lstrip(": ").replace("json_body", "json").replace(
            "docs/configuration.md", "the models of maas_platform/config/golden.py")
        raise ConfigError(_name_case(message, data), source) from None


def load_cases(path: Path | str) -> GoldenSet:
    """Read and validate a golden-set file; every problem is one :class:`ConfigError` line naming
    the file, the case (index and id), the field and the fix."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"golden set file cannot be read: {exc.strerror or exc}", str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise ConfigError(f"not valid YAML: {problem}", str(path)) from None
    return parse_cases(data, str(path))
