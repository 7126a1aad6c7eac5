"""The configuration reference: generated from the models, complete, and current."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal, Optional, Union, get_args, get_origin

import yaml
from typer.testing import CliRunner
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from maas_platform.config import parse_platform_config
from maas_platform.config.defaults import ENVIRONMENT_DEFAULTS
from maas_platform.config.models import PlatformConfig
from maas_platform.cli import app
from maas_platform.config.reference import EXAMPLE, REGENERATE, RULES, render_reference, sections

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"

# Fields without a Field(description=...) yet, as "Model.field". The models are not this
# test's to edit: whoever adds a description removes its entry here (a test flags stale ones).
UNDESCRIBED: set[str] = set()


# -- an independent walk of the model tree ---------------------------------------------------

def _nested(tp: Any, path: str, discriminator: Optional[str] = None) -> Iterator[tuple[type[BaseModel], str, Optional[str]]]:
    """The models inside a type, each with the key path of its mapping and its union tag."""
    if get_origin(tp) is Annotated:
        base, *extra = get_args(tp)
        tags = [m.discriminator for m in extra if isinstance(m, FieldInfo) and isinstance(m.discriminator, str)]
        yield from _nested(base, path, tags[0] if tags else discriminator)
    elif inspect.isclass(tp) and issubclass(tp, BaseModel):
        yield tp, path, discriminator
    elif get_origin(tp) in (list, tuple, set, frozenset):
        for arg in get_args(tp):
            yield from _nested(arg, f"{path}[]")
    elif get_origin(tp) is dict:
        yield from _nested(get_args(tp)[1], f"{path}.<key>")
    else:  # Optional and other unions: every member at the same path
        for arg in get_args(tp):
            yield from _nested(arg, path, discriminator)


def _fields(
    model: type[BaseModel], path: str = "maas:", tag: Optional[str] = None, seen: tuple = ()
) -> Iterator[tuple[str, str, FieldInfo, bool, bool]]:
    """(key path, Model.field, field, is a leaf, is the union tag) for every field of the tree."""
    for name, field in model.model_fields.items():
        key_path = path + name if path.endswith(":") else f"{path}.{name}"
        own_tag = field.discriminator if isinstance(field.discriminator, str) else None
        children = list(_nested(field.annotation, key_path, own_tag))
        yield key_path, f"{model.__name__}.{name}", field, not children, name == tag
        for child, child_path, child_tag in children:
            if child not in seen + (model,):
                yield from _fields(child, child_path, child_tag, seen + (model,))


def _row(doc: str, path: str) -> list[str]:
    rows = [line for line in doc.splitlines() if line.startswith(f"| `{path}` |")]
    assert rows, f"no row for {path}"
    return [cell.strip() for cell in rows[0].strip("|").split(" | ")]


# -- the reference ---------------------------------------------------------------------------

def test_docs_configuration_md_is_current():
    assert DOC.exists(), f"docs/configuration.md is missing; generate it: .venv/bin/{REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == render_reference(), (
        f"docs/configuration.md is stale; regenerate it: .venv/bin/{REGENERATE}"
    )


def test_every_leaf_key_has_a_row():
    doc = render_reference()
    leaves = [path for path, _, _, leaf, _ in _fields(PlatformConfig) if leaf]
    assert "maas:cluster.node_groups[].min_size" in leaves and "maas:network.cidr" in leaves
    missing = [path for path in leaves if f"| `{path}` |" not in doc]
    assert not missing, f"keys missing from the reference: {missing}"


def test_every_field_has_a_description():
    missing = sorted(
        {qualified for _, qualified, field, _, is_tag in _fields(PlatformConfig)
         if not (field.description or "").strip() and not is_tag and qualified not in UNDESCRIBED}
    )
    assert not missing, f"add Field(description=...) to: {', '.join(missing)}"


def test_the_undescribed_allow_list_only_names_fields_still_undescribed():
    undescribed = {qualified for _, qualified, field, _, _ in _fields(PlatformConfig) if not (field.description or "").strip()}
    stale = sorted(UNDESCRIBED - undescribed)
    assert not stale, f"these fields exist with a description now (or no longer exist); drop them from UNDESCRIBED: {stale}"


def test_environment_defaults_of_az_count_are_the_ones_applied():
    default = _row(render_reference(), "maas:network.az_count")[3]
    for env, defaults in ENVIRONMENT_DEFAULTS.items():
        assert f"{env}: `{defaults['network']['az_count']}`" in default
    assert default.count(":") == len(ENVIRONMENT_DEFAULTS)


def test_rows_show_type_bounds_requirement_and_default():
    doc = render_reference()
    assert _row(doc, "maas:network.az_count")[1:3] == ["integer, 2 to 3", "no"]
    assert _row(doc, "maas:environment")[1:3] == ["one of `dev` \\| `staging` \\| `prod`", "yes"]
    assert _row(doc, "maas:cluster.node_groups[].min_size")[1:4] == ["integer, 0 to 450", "yes", "—"]
    assert _row(doc, "maas:cluster.kubernetes_version")[3] == '`"1.35"`'  # a bare 1.35 would be a number
    assert _row(doc, "maas:cluster.node_groups")[1].startswith("list of mappings, at least 1 item")


def test_every_key_a_rule_names_is_documented():
    doc = render_reference()
    unknown = sorted({key for keys, _ in RULES for key in keys if f"| `maas:{key}` |" not in doc})
    assert not unknown, f"RULES name keys the models no longer have: {unknown}"


def test_the_example_is_a_valid_stack_config():
    config = yaml.safe_load(EXAMPLE)["config"]
    parsed = parse_platform_config({key.split(":", 1)[1]: value for key, value in config.items()})
    assert parsed.environment == "staging" and parsed.network.cidr == "10.31.0.0/16"


def maas(*args: str):
    return CliRunner().invoke(app, list(args))


def test_the_committed_references_are_what_maas_reference_prints():
    """``maas reference config|policies`` print the committed docs byte for byte, and the
    header of each names the command that regenerates it."""
    config = maas("reference", "config")
    assert config.exit_code == 0 and config.stdout == DOC.read_text(encoding="utf-8")
    assert f"Regenerate: {REGENERATE}" in config.stdout and REGENERATE.startswith("maas reference config")
    policies = maas("reference", "policies")
    assert policies.exit_code == 0 and policies.stdout == (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")


def test_check_flag_exits_1_with_one_line_when_the_file_differs(tmp_path):
    current = tmp_path / "configuration.md"
    current.write_text(render_reference(), encoding="utf-8")
    same = maas("reference", "config", "--check", str(current))
    assert same.exit_code == 0 and same.stdout == ""
    current.write_text("stale\n", encoding="utf-8")
    stale = maas("reference", "config", "--check", str(current))
    assert stale.exit_code == 1
    assert stale.stderr.count("\n") == 1 and "out of date" in stale.stderr and REGENERATE in stale.stderr
    missing = maas("reference", "config", "--check", str(tmp_path / "missing.md"))
    assert missing.exit_code == 1 and "is missing" in missing.stderr
    assert maas("reference", "policies", "--check", str(current)).exit_code == 1


def test_make_docs_regenerates_both_references():
    recipe = (ROOT / "Makefile").read_text().split("\ndocs:", 1)[1].split("\n\n", 1)[0]
    assert f"$(BIN)/{REGENERATE}" in recipe
    assert "$(BIN)/maas reference policies > docs/policies.md" in recipe


# -- shapes the platform models do not use yet -------------------------------------------------

class _Leaf(BaseModel):
    """A leaf model."""

    size: int = Field(1, ge=1, description="A size.")


class _Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(9, description="Lives.")


class _Dog(BaseModel):
    kind: Literal["dog"] = "dog"


class _Tree(BaseModel):
    """A tree."""

    by_name: dict[str, _Leaf] = Field(default_factory=dict, description="Leaves by name.")
    maybe: Optional[_Leaf] = Field(None, description="An optional leaf.")
    pets: list[Annotated[Union[_Cat, _Dog], Field(discriminator="kind")]] = Field(default_factory=list, description="Pets.")
    either: Union[_Cat, _Leaf, str] = Field("x", description="Untagged union.")
    child: Optional["_Tree"] = Field(None, description="Recursion.")


def test_other_shapes_mappings_of_models_optional_models_unions_and_recursion():
    found = {(s.path, s.title) for s in sections(_Tree, "t:")}
    assert ("t:by_name.<key>", "`t:by_name.<key>`") in found
    assert ("t:maybe", "`t:maybe`") in found
    assert ("t:pets[]", "`t:pets[]` (kind: cat)") in found and ("t:pets[]", "`t:pets[]` (kind: dog)") in found
    assert ("t:either", "`t:either` (_Cat)") in found and ("t:either", "`t:either` (_Leaf)") in found
    assert not any(path.startswith("t:child.") for path, _ in found)  # a recursive model is documented once
    keys = {k.path: k for s in sections(_Tree, "t:") for k in s.keys}
    assert keys["t:by_name.<key>.size"].type == "integer, at least 1"
    assert keys["t:pets[].kind"].required == "yes"  # the tag of a discriminated union is always written
    assert keys["t:either"].type.startswith("string or one of 2 variants")
    assert keys["t:pets"].type.startswith("list of mappings, each one of 2 variants chosen by `kind`")
    assert keys["t:child"].type == "mapping; see [`t:`](#t)"  # links back to where _Tree is documented
    anchors = [s.anchor for s in sections(_Tree, "t:")]
    assert len(anchors) == len(set(anchors))
