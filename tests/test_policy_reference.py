"""docs/policies.md: generated from the rules' metadata, complete, and current; the metadata itself complete."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from maas_platform.policy import rules
from maas_platform.config.policy import PolicyConfig
from maas_platform.policy.core import FRAMEWORKS, LEVELS, SEVERITIES
from maas_platform.policy.crossguard import policy_name
from maas_platform.policy.reference import REGENERATE, render

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "policies.md"
RULE_ID = re.compile(r"^MAAS-[A-Z0-9]+-\d{3}$")


def _section(doc: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = doc.index(f"\n{heading}\n")
    rest = doc[start + len(heading) + 2:]
    ends = [m.start() for m in re.finditer(rf"^#{{1,{len(level)}}} ", rest, re.M)]
    return rest[: ends[0]] if ends else rest


def _rows(text: str) -> dict[str, list[str]]:
    """Table rows of a section by their first cell (link text when the cell is a link)."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            key = re.sub(r"^\[([^\]]+)\]\(#[^)]*\)$", r"\1", cells[0])
            rows[key] = cells
    return rows


# -- the rules' metadata ------------------------------------------------------------------------

def test_rules_are_registered():
    assert len(rules()) >= 1


def test_every_rule_has_complete_metadata():
    problems = []
    for rule in rules():
        if not RULE_ID.match(rule.id):
            problems.append(f"{rule.id}: not MAAS-<AREA>-<NNN>")
        for name in ("title", "description", "remediation"):
            if not str(getattr(rule, name) or "").strip():
                problems.append(f"{rule.id}: empty {name}")
        if rule.severity not in SEVERITIES or rule.level not in LEVELS:
            problems.append(f"{rule.id}: severity {rule.severity!r} / level {rule.level!r}")
        if not rule.frameworks or not any(rule.frameworks.values()):
            problems.append(f"{rule.id}: maps to no framework control")
        empty = [name for name, controls in rule.frameworks.items() if not controls or not all(c.strip() for c in controls)]
        if empty:
            problems.append(f"{rule.id}: frameworks without controls: {empty}")
        if rule.scope == "resource" and not rule.types:
            problems.append(f"{rule.id}: a resource rule that names no resource type")
        if not callable(rule.check):
            problems.append(f"{rule.id}: no check function")
    assert not problems, "\n".join(problems)


def test_policy_names_are_unique_in_the_pack():
    names = [policy_name(rule.id) for rule in rules()]
    assert len(names) == len(set(names))


# -- the document -------------------------------------------------------------------------------

def test_docs_policies_md_is_current():
    assert DOC.exists(), f"docs/policies.md is missing; generate it: .venv/bin/{REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == render(), f"docs/policies.md is stale; regenerate it: .venv/bin/{REGENERATE}"


def test_the_control_table_has_a_row_per_rule_with_its_metadata():
    table = _rows(_section(render(), "## Controls"))
    assert set(table) == {"ID"} | {rule.id for rule in rules()}
    for rule in rules():
        _, title, severity, level, frameworks, remediation = table[rule.id]
        assert (title, severity, level) == (rule.title.replace("|", "\\|"), rule.severity, rule.level)
        assert " ".join(rule.remediation.split()).replace("|", "\\|") == remediation
        for framework, controls in rule.frameworks.items():
            for control in controls:
                assert f"{framework} " in frameworks and control in frameworks, (rule.id, framework, control)


def test_each_framework_section_lists_exactly_the_rules_mapped_to_each_control():
    doc = render()
    for framework in FRAMEWORKS:
        expected: dict[str, set[str]] = {}
        for rule in rules():
            for control in rule.frameworks.get(framework, ()):
                expected.setdefault(control, set()).add(rule.id)
        rows = _rows(_section(doc, f"### {framework}"))
        rows.pop("Control", None)
        listed = {control: set(re.findall(r"\[(MAAS-[A-Z0-9]+-\d{3})\]", cells[1])) for control, cells in rows.items()}
        assert listed == expected, framework


def test_every_rule_has_a_section_with_its_description_and_pack_name():
    doc = render()
    for rule in rules():
        section = _section(doc, f"### {rule.id}")
        assert " ".join(rule.description.split()) in section
        assert f"`{policy_name(rule.id)}`" in section


def test_the_maas_policy_example_is_a_valid_configuration():
    doc = render()
    blocks = re.findall(r"```yaml\n(.*?)```", _section(doc, "## Changing enforcement and adding an exemption"), re.S)
    assert len(blocks) == 1
    config = yaml.safe_load(blocks[0])["config"]
    policy = PolicyConfig.model_validate(config["maas:policy"])
    assert policy.enforcement and policy.exemptions


def test_the_doc_shows_how_to_run_the_pack_with_its_config():
    section = _section(render(), "## Running the CrossGuard pack")
    assert "--policy-pack policies" in section and "--policy-pack-config" in section
    assert "maas policy-config --stack prod --out policy-config.prod.json" in section


def test_the_doc_names_the_command_that_regenerates_it_and_renders_the_same_text_twice():
    doc = render()
    assert REGENERATE == "maas reference policies > docs/policies.md"
    assert f"Regenerate: {REGENERATE}" in doc and f".venv/bin/{REGENERATE}" in doc
    assert render() == doc


def test_the_doc_explains_the_not_evaluable_outcome():
    doc = render()
    assert "**not evaluable**" in doc and "`not_evaluable`" in doc
    section = _section(doc, "## Running the CrossGuard pack")
    assert f"`{policy_name(rules()[0].id)}-not-evaluable`" in section
