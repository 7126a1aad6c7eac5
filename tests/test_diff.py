"""``maas diff`` and ``maas plan --base``: real pairs of plans, compared.

Six plans are made once for the module from copies of the shipped stack configs: dev as
shipped, dev with an agent added, dev with an image bumped, dev with an agent's datastore
kind changed, prod with an agent, and prod without it (planned through ``maas plan --base``).
Every other case edits the JSON of one of these real plans.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from conftest import ROOT
from maas_platform import names
from maas_platform.cli import app
from maas_platform.plan import Plan, plan_project
from maas_platform.plan.catalog import write_catalog_stack
from maas_platform.plan.diff import (COMMENT_MARKER, DIFF_RULES, REMOVED_WITHOUT_RETIRING, SCHEMA, Change, DiffError,
                                     diff_plans, render_markdown)
from maas_platform.plan.diff.stateful import STATEFUL
from test_workflows import load, runs, steps, uses, validate

NEW_AGENT = {
    "name": "billing", "team": "support", "cost_center": "cc-1001", "image": "ghcr.io/acme/billing-agent:1.0.0",
    "budget": {"monthly_usd": 10, "llm_monthly_usd": 50},
}
TRIAGE_IMAGE = "ghcr.io/acme/triage-agent:1.4.3"
PLAIN_SECRET = "hunter2-plain-value-0f9e"


def _stack(tmp: Path, name: str, edit=None) -> Path:
    """A copy of stacks/Pulumi.<name>.yaml, its maas:agents edited by ``edit``."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    if edit is not None:
        agents = document["config"]["maas:agents"]
        edit(agents)
        # A flow through a retired or removed agent goes in the same change (maas:flows refuses it).
        live = {a["name"] for a in agents if not a.get("retired")}
        flows = [f for f in document["config"].get("maas:flows", [])
                 if {f["entry"], *(hop["to"] for hop in f["hops"])} <= live]
        if "maas:flows" in document["config"]:
            document["config"]["maas:flows"] = flows
    path = tmp / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _plan(tmp_path_factory, label: str, edit=None) -> Plan:
    path = _stack(tmp_path_factory.mktemp(label), "dev", edit)
    return _as_read(plan_project(ROOT, config_file=path))


def _as_read(plan: Plan) -> Plan:
    """The plan as ``maas diff`` reads it: from its JSON."""
    return Plan.from_dict(json.loads(plan.to_json()))


def _agent(agents: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(a for a in agents if a["name"] == name)


@pytest.fixture(scope="module")
def dev_base(tmp_path_factory) -> Plan:
    return _plan(tmp_path_factory, "base")


@pytest.fixture(scope="module")
def dev_added(tmp_path_factory) -> Plan:
    return _plan(tmp_path_factory, "added", lambda agents: agents.append(dict(NEW_AGENT)))


@pytest.fixture(scope="module")
def dev_image(tmp_path_factory) -> Plan:
    return _plan(tmp_path_factory, "image", lambda agents: _agent(agents, "triage").update(image=TRIAGE_IMAGE))


@pytest.fixture(scope="module")
def dev_kind(tmp_path_factory) -> Plan:
    return _plan(tmp_path_factory, "kind", lambda agents: _agent(agents, "triage").update(storage="s3"))


@pytest.fixture(scope="module")
def prod_pair(tmp_path_factory) -> dict[str, Any]:
    """prod with one agent (BASE, a file), then prod as shipped (no agent) planned by
    ``maas plan --base BASE``: the agent removed without being retired."""
    folder = tmp_path_factory.mktemp("prod")
    (folder / "with").mkdir()
    with_agent = write_catalog_stack(ROOT / "stacks" / "Pulumi.prod.yaml", folder / "with" / "Pulumi.prod.yaml", 1)
    base_file = folder / "base.json"
    base_file.write_text(plan_project(ROOT, config_file=with_agent).to_json())
    shipped = _stack(folder, "prod")
    new_file = folder / "new.json"
    result = CliRunner().invoke(app, ["plan", "--project-dir", str(ROOT), "--config-file", str(shipped),
                                      "--json", str(new_file), "--base", str(base_file)])
    return {"base_file": base_file, "new_file": new_file, "cli": result, "folder": folder,
            "base": Plan.from_dict(json.loads(base_file.read_text())),
            "new": Plan.from_dict(json.loads(new_file.read_text()))}


def invoke(*args: str):
    return CliRunner().invoke(app, ["diff", *map(str, args)])


def write(tmp_path: Path, name: str, plan: Plan | dict) -> Path:
    path = tmp_path / name
    document = plan if isinstance(plan, dict) else json.loads(plan.to_json())
    path.write_text(json.dumps(document))
    return path


# -- an agent added ------------------------------------------------------------------------------

def test_an_added_agent_is_created_whole_and_priced(dev_base, dev_added):
    change = diff_plans(dev_base, dev_added)
    billing = [r for r in change.resources if r.agent == "billing"]
    assert billing and {r.action for r in billing} == {"create"}
    assert {r.component for r in billing} >= {"AgentWorkload", "AgentIdentity"}
    assert not [r for r in change.resources if r.action in ("delete", "replace")]
    assert not change.loud and not change.findings
    (summary,) = [a for a in change.agents if a.name == "billing"]
    assert summary.status == "added" and summary.team == "support"
    assert summary.lifecycle == (None, names.AGENT_LIFECYCLE_ACTIVE)
    # The cost delta per agent, team and in total, from each plan's estimate.
    monthly = dev_added.cost["by_agent"]["billing"]["monthly"]
    assert change.cost["agents"]["billing"] == {"base": None, "new": monthly, "delta": round(monthly, 2)}
    support = change.cost["teams"]["support"]
    assert support["delta"] == round(support["new"] - support["base"], 2) and support["delta"] > 0
    total = change.cost["total"]
    assert total["delta"] == round(dev_added.cost["monthly_total"] - dev_base.cost["monthly_total"], 2)


def test_the_added_agent_through_the_cli_exits_0_in_every_form(dev_base, dev_added, tmp_path):
    base, new = write(tmp_path, "base.json", dev_base), write(tmp_path, "new.json", dev_added)
    console = invoke(base, new)
    assert console.exit_code == 0, console.output
    assert "agent billing (support): added" in console.output
    markdown = invoke(base, new, "--markdown")
    assert markdown.exit_code == 0 and markdown.output.startswith(COMMENT_MARKER.format(project="maas", stack="dev"))
    assert "<summary>agent billing: " in markdown.output and "| billing | support | added |" in markdown.output
    document = json.loads(invoke(base, new, "--json").output)
    assert document["schema"] == SCHEMA and document["summary"]["mandatory"] == 0
    assert set(document) == {"schema", "base", "new", "notes", "summary", "findings", "agents", "resources", "cost",
                             "policy"}


# -- an image bumped -----------------------------------------------------------------------------

def test_an_image_bump_is_one_changed_input_and_nothing_else(dev_base, dev_image):
    change = diff_plans(dev_base, dev_image)
    (resource,) = change.resources
    assert (resource.action, resource.type, resource.agent, resource.component) == (
        "update", names.K8S_DEPLOYMENT, "triage", "AgentWorkload")
    (item,) = resource.changes
    assert item.path == "spec.template.spec.containers[name=agent].image"  # list items matched by name
    assert (item.old, item.new) == ("ghcr.io/acme/triage-agent:1.4.2", TRIAGE_IMAGE)
    assert not change.loud and not change.findings and not change.policy_added and not change.policy_cleared
    assert change.cost["total"]["delta"] == 0
    assert [a.status for a in change.agents if a.name == "triage"] == ["changed"]


def test_an_identical_plan_is_no_change(dev_base):
    change = diff_plans(dev_base, dev_base)
    assert change.empty() and change.counts()["unchanged"] == len(dev_base.cloud_resources())


# -- a datastore kind changed --------------------------------------------------------------------

def test_a_datastore_kind_change_is_a_loud_delete_and_a_loud_create(dev_base, dev_kind, tmp_path):
    change = diff_plans(dev_base, dev_kind)
    loud = {(r.action, r.type) for r in change.loud}
    assert ("delete", names.DYNAMODB_TABLE) in loud and ("create", names.S3_BUCKET) in loud
    table = next(r for r in change.loud if r.type == names.DYNAMODB_TABLE)
    assert table.agent == "triage" and table.loud.startswith("DELETED with items")
    bucket = next(r for r in change.loud if r.type == names.S3_BUCKET)
    assert "CREATED empty" in bucket.loud
    markdown = render_markdown(change)
    at_risk = markdown.split("#### :rotating_light: Data at risk", 1)[1].split("####", 1)[0]
    assert names.DYNAMODB_TABLE in at_risk and names.S3_BUCKET in at_risk
    # Before everything else a reviewer reads: the headline, then the data at risk.
    assert markdown.index("Data at risk") < markdown.index("#### By agent")
    result = invoke(write(tmp_path, "base.json", dev_base), write(tmp_path, "new.json", dev_kind))
    assert result.exit_code == 0 and "DATA AT RISK" in result.output


def test_a_replace_on_change_input_of_a_table_is_a_loud_replacement(dev_base):
    document = json.loads(dev_base.to_json())
    table = next(r for r in document["resources"] if r["type"] == names.DYNAMODB_TABLE)
    table["inputs"]["hashKey"] = "tenant"
    change = diff_plans(dev_base, Plan.from_dict(document))
    (resource,) = change.resources
    assert resource.action == "replace" and resource.replace_on == ("hashKey",)
    assert resource.loud.startswith("REPLACED (hashKey changed)")
    assert "**(replaces)**" in render_markdown(change)


def test_every_stateful_type_says_what_it_holds_and_is_a_declared_name():
    declared = {value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)}
    assert set(STATEFUL) <= declared
    assert all(entry.holds for entry in STATEFUL.values())


# -- an agent removed ----------------------------------------------------------------------------

def test_an_agent_removed_without_retiring_fails_plan_base_in_prod(prod_pair):
    result = prod_pair["cli"]
    assert result.exit_code == 1, result.output
    assert REMOVED_WITHOUT_RETIRING.id in result.output and "agent-0000" in result.output
    change = diff_plans(prod_pair["base"], prod_pair["new"])
    (finding,) = change.findings
    assert (finding.rule, finding.level, finding.agent) == (REMOVED_WITHOUT_RETIRING, "mandatory", "agent-0000")
    # prod protects stateful resources: deleting them is refused by `pulumi up`, and said so.
    protected = [r for r in change.loud if r.action == "delete" and r.protected]
    assert protected and all("refuses" in r.loud for r in protected)


def test_maas_diff_exits_1_on_the_prod_removal_in_every_form(prod_pair):
    base, new = prod_pair["base_file"], prod_pair["new_file"]
    for form in ((), ("--markdown",), ("--json",)):
        result = invoke(base, new, *form)
        assert result.exit_code == 1, (form, result.output)
    markdown = invoke(base, new, "--markdown").output
    assert "**blocked**" in markdown and f"| **mandatory** | {REMOVED_WITHOUT_RETIRING.id} | agent-0000 |" in markdown
    document = json.loads(invoke(base, new, "--json").output)
    assert document["summary"]["mandatory"] == 1
    assert document["findings"][0]["policy"] == REMOVED_WITHOUT_RETIRING.id


@pytest.mark.parametrize("lifecycle, found", [
    (names.AGENT_LIFECYCLE_DELETABLE, False),
    (names.AGENT_LIFECYCLE_RETIRED, True),
    (names.AGENT_LIFECYCLE_ACTIVE, True),
])
def test_only_a_deletable_agent_may_leave_config(prod_pair, tmp_path, lifecycle, found):
    document = json.loads(prod_pair["base_file"].read_text())
    document["outputs"]["agents"]["agent-0000"]["lifecycle"] = lifecycle
    change = diff_plans(Plan.from_dict(document), prod_pair["new"])
    assert bool(change.findings) is found
    result = invoke(write(tmp_path, "base.json", document), prod_pair["new_file"])
    assert result.exit_code == (1 if found else 0), result.output


def test_removed_without_retiring_is_a_warning_in_dev(dev_base, dev_added, tmp_path):
    change = diff_plans(dev_added, dev_base)
    (finding,) = change.findings
    assert (finding.level, finding.agent) == ("advisory", "billing")
    assert {r.action for r in change.resources if r.agent == "billing"} == {"delete"}
    result = invoke(write(tmp_path, "base.json", dev_added), write(tmp_path, "new.json", dev_base))
    assert result.exit_code == 0 and f"advisory {REMOVED_WITHOUT_RETIRING.id}" in result.output


@pytest.mark.parametrize("stack, level", [("prod", "mandatory"), ("staging", "mandatory"), ("dev", "advisory")])
def test_a_team_stack_is_judged_by_its_stack_name(stack, level):
    """A team stack exports no environment: its stack name is the environment."""
    base = Plan(project="maas-team-example", stack=stack, resources=[], outputs={"agents": {"intake": {}}})
    new = Plan(project="maas-team-example", stack=stack, resources=[], outputs={"agents": {}})
    assert [f.level for f in diff_plans(base, new).findings] == [level]


def test_two_stacks_compare_with_a_note_and_no_removal(dev_base, prod_pair):
    change = diff_plans(dev_base, prod_pair["new"])
    assert change.notes and "comparing stack dev with stack prod" in change.notes[0]
    assert not change.findings


# -- policy findings -----------------------------------------------------------------------------

def test_policy_findings_added_and_cleared_by_rule_and_resource(dev_base, dev_image):
    base = json.loads(dev_base.to_json())
    new = json.loads(dev_image.to_json())
    urn = next(r["urn"] for r in new["resources"] if r["type"] == names.K8S_DEPLOYMENT)
    gone = {"policy": "MAAS-K8S-001", "severity": "high", "level": "mandatory", "urn": urn, "message": "was broken"}
    came = {"policy": "MAAS-K8S-002", "severity": "low", "level": "advisory", "urn": urn, "message": "now broken"}
    base["violations"] = [gone]
    new["violations"] = [came]
    change = diff_plans(Plan.from_dict(base), Plan.from_dict(new))
    assert [v["policy"] for v in change.policy_added] == ["MAAS-K8S-002"]
    assert [v["policy"] for v in change.policy_cleared] == ["MAAS-K8S-001"]
    assert "#### Policy findings: 1 added, 1 cleared" in render_markdown(change)


# -- secrets -------------------------------------------------------------------------------------

def test_secrets_never_appear_in_any_output_form(dev_base, dev_image, tmp_path):
    base, new = json.loads(dev_base.to_json()), json.loads(dev_image.to_json())
    version = next(r for r in new["resources"] if r["type"] == names.SECRETSMANAGER_SECRET_VERSION)
    assert version["inputs"]["secretString"] == "[secret]"  # the plan masks what the program marks secret
    version["inputs"]["secretString"] = PLAIN_SECRET  # a value the program forgot to mark
    database = next(r for r in new["resources"] if r["type"] == names.RDS_CLUSTER)
    database["inputs"]["masterPassword"] = PLAIN_SECRET + "-db"
    config = next(r for r in new["resources"] if r["type"] == names.K8S_DEPLOYMENT)
    config["inputs"]["spec"]["template"]["metadata"].setdefault("annotations", {})["token"] = PLAIN_SECRET + "-tok"
    secret = copy.deepcopy(config)
    secret.update(urn=config["urn"].replace("Deployment", "Secret") + "-secret", type=names.K8S_SECRET,
                  name="leak", inputs={"kind": "Secret", "stringData": {"key": PLAIN_SECRET + "-k8s"}})
    base_secret = copy.deepcopy(secret)
    base_secret["inputs"] = {"kind": "Secret", "stringData": {"key": "older-" + PLAIN_SECRET}}
    new["resources"].append(secret)
    base["resources"].append(base_secret)
    paths = write(tmp_path, "base.json", base), write(tmp_path, "new.json", new)
    outputs = [invoke(*paths, *form).output for form in ((), ("--markdown",), ("--json",))]
    for output in outputs:
        assert "hunter2" not in output
    change = diff_plans(Plan.from_dict(base), Plan.from_dict(new))
    shown = {c.path: c for r in change.resources for c in r.changes}
    assert shown["secretString"] == Change("secretString", "[secret]", "[secret]")
    assert shown["masterPassword"] == Change("masterPassword", None, "[secret]")
    assert shown["stringData"].new == "[secret]"
    # The annotations map appeared whole: shown, with the value under a credential's name masked.
    assert any("annotations" in path and "[secret]" in json.dumps(c.new) for path, c in shown.items())


# -- usage ---------------------------------------------------------------------------------------

def test_plans_of_two_projects_are_refused_with_one_line(dev_base, tmp_path):
    team = json.loads(dev_base.to_json())
    team["project"] = "maas-team-example"
    with pytest.raises(DiffError):
        diff_plans(dev_base, Plan.from_dict(team))
    result = invoke(write(tmp_path, "a.json", dev_base), write(tmp_path, "b.json", team))
    assert result.exit_code == 2 and "two projects" in result.output


def test_unreadable_plans_and_two_forms_exit_2(tmp_path, dev_base):
    good = write(tmp_path, "plan.json", dev_base)
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    for args in ((tmp_path / "missing.json", good), (tmp_path / "bad.json", good), (good, tmp_path / "other.json"),
                 (good, good, "--markdown", "--json")):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1


def test_plan_base_reads_the_base_before_planning(tmp_path):
    result = CliRunner().invoke(app, ["plan", "--stack", "dev", "--base", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "--base" in result.output


# -- output forms --------------------------------------------------------------------------------

def test_the_console_form_fits_80_columns(dev_base, dev_kind, tmp_path):
    output = invoke(write(tmp_path, "base.json", dev_base), write(tmp_path, "new.json", dev_kind)).output
    # Only a line holding one unbreakable word (a type token, a property path) may be longer.
    long = [line for line in output.splitlines() if len(line) > 80 and len(line.split()) > 2]
    assert long == []


def test_the_console_shows_the_part_of_a_long_value_that_changed(dev_base, dev_image, tmp_path):
    """An image bump shows both tags in full, even where the whole reference does not fit the line."""
    output = invoke(write(tmp_path, "base.json", dev_base), write(tmp_path, "new.json", dev_image)).output
    assert "triage-agent:1.4.2" in output and TRIAGE_IMAGE.rsplit("/", 1)[-1] in output


def test_a_long_comment_is_cut_at_an_agent_and_says_so(dev_base, dev_kind):
    change = diff_plans(dev_base, dev_kind)
    full = render_markdown(change)
    cut = render_markdown(change, max_chars=len(full) // 2)
    assert len(cut) < len(full) and "are cut here" in cut
    assert cut.count("<details>") == cut.count("</details>")
    assert "Data at risk" in cut  # the loud section is never what is cut


# -- the plan workflow ---------------------------------------------------------------------------

def test_the_plan_workflow_posts_the_markdown_diff_of_each_stack():
    document = load("plan.yml")
    commands = runs(document)
    assert validate(ROOT / ".github" / "workflows" / "plan.yml").returncode == 0
    # The base commit is planned with its own code, then diffed against this commit's plan.
    base = [s for s in steps(document) if s.get("with", {}).get("ref") == "${{ github.event.pull_request.base.sha }}"]
    assert len(base) == 1 and base[0]["with"]["path"] == "base"
    assert 'make -C base .venv/bin/maas' in commands
    assert '.venv/bin/maas diff "$out/base.json" "$out/plan.json" --markdown > "$out/diff.md"' in commands
    # diff.md is kept in the plan's artifact, then posted by the comment job: one comment per stack.
    assert 'out="out/$STACK"' in commands
    comment = document["jobs"]["comment"]
    assert comment["needs"] == "plan" and "pull_request" in comment["if"]
    script = uses({"jobs": {"comment": comment}}, "actions/github-script")[0]["with"]["script"]
    assert "diff.md" in script and "updateComment" in script and "createComment" in script
    assert uses({"jobs": {"comment": comment}}, "actions/download-artifact")[0]["with"]["pattern"] == "plan-*"
    # A mandatory finding of the change fails the environment's job, after the artifact is kept.
    names_ = [s.get("name", "") for s in document["jobs"]["plan"]["steps"]]
    assert names_.index("Keep the plan") < names_.index("Fail on a mandatory finding of the change")


def test_only_the_comment_job_may_write_to_the_pull_request_and_it_runs_no_repository_code():
    document = load("plan.yml")
    assert document["permissions"] == {"contents": "read"}
    assert document["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}
    assert "permissions" not in document["jobs"]["plan"]
    comment_steps = document["jobs"]["comment"]["steps"]
    assert not [s for s in comment_steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert not [s for s in comment_steps if "run" in s]


def test_the_comment_marker_is_the_first_line_the_workflow_matches():
    assert COMMENT_MARKER.format(project="maas", stack="dev").startswith("<!-- maas-diff ")
    assert "maas-diff maas/%s" in runs(load("plan.yml"))  # the no-diff note carries the same marker


# -- documentation -------------------------------------------------------------------------------

def test_review_doc_documents_the_rules_markers_and_json_schema():
    review = (ROOT / "docs" / "review.md").read_text()
    for rule in DIFF_RULES:
        assert rule.id in review and rule.title in review
    for key in ("schema", "base", "new", "notes", "summary", "findings", "agents", "resources", "cost", "policy"):
        assert f"`{key}`" in review, key
    assert SCHEMA in review and "maas diff" in review and "--markdown" in review
    for marker in ("DATA AT RISK", "(replaces)", "[secret]"):
        assert marker in review, marker
    assert "docs/review.md" in (ROOT / "README.md").read_text()


def test_the_policy_reference_names_the_change_rule():
    policies = (ROOT / "docs" / "policies.md").read_text()
    assert REMOVED_WITHOUT_RETIRING.id in policies and "maas diff" in policies


# -- retirement, the two steps, as the diff sees them ----------------------------------------------

def _retire(agents: list[dict[str, Any]], delete_data: bool = False) -> None:
    triage = _agent(agents, "triage")
    triage.update(retired=True, retired_on="2020-01-01")
    if delete_data:
        triage["delete_data"] = True


@pytest.fixture(scope="module")
def retirement(tmp_path_factory, dev_base) -> dict[str, Plan]:
    """dev's triage retired, then deletable, then removed from config: three real plans."""
    return {
        "retired": _plan(tmp_path_factory, "retired", _retire),
        "deletable": _plan(tmp_path_factory, "deletable", lambda agents: _retire(agents, delete_data=True)),
        "removed": _plan(tmp_path_factory, "removed",
                         lambda agents: agents.remove(_agent(agents, "triage"))),
    }


def test_retiring_deletes_no_data_and_is_no_finding(dev_base, retirement):
    change = diff_plans(dev_base, retirement["retired"])
    assert not change.findings
    # Only the LLM gateway's copy of the retired agent's credential goes (loud: a secret value).
    revoked = [r for r in change.resources if "$maas:llmgateway:LlmGateway$" in r.urn and r.action == "delete"]
    assert {r.urn.rsplit("::", 1)[1] for r in revoked if r.type == names.SECRETSMANAGER_SECRET} == \
        {"maas-dev-llm-gateway-key-triage"}
    assert not [r for r in change.resources if r.stateful and r.action in ("delete", "replace")
                and r.type != names.SQS_QUEUE and r not in revoked], "a retired agent keeps its datastore, key and secrets"
    (triage,) = [a for a in change.agents if a.name == "triage"]
    assert triage.lifecycle == (names.AGENT_LIFECYCLE_ACTIVE, names.AGENT_LIFECYCLE_RETIRED)


def test_removing_a_deletable_agent_is_no_finding_but_its_data_is_loud(retirement):
    step = diff_plans(retirement["retired"], retirement["deletable"])
    (triage,) = [a for a in step.agents if a.name == "triage"]
    assert triage.lifecycle == (names.AGENT_LIFECYCLE_RETIRED, names.AGENT_LIFECYCLE_DELETABLE)
    change = diff_plans(retirement["deletable"], retirement["removed"])
    assert not change.findings
    assert {r.type for r in change.loud if r.action == "delete"} >= {names.DYNAMODB_TABLE, names.KMS_KEY}


def test_removing_a_retired_agent_before_delete_data_is_a_finding(retirement):
    (finding,) = diff_plans(retirement["retired"], retirement["removed"]).findings
    assert finding.agent == "triage" and "retired, without delete_data" in finding.message
