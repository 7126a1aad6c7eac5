"""`maas plan --html`: the report page, its diagram and cost chart, in a real browser; the plan's progress display."""

from __future__ import annotations

import copy
import dataclasses
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from maas_platform.plan import Plan, PlannedResource, plan_project
from maas_platform.plan.engine import run_program
from maas_platform.plan.fake_cloud import FakeCloud
from maas_platform.policy.core import Rule
from maas_platform.report import DiagramError, build, render_report, require_dot, write_report
from maas_platform.report.diagram import render_svg, to_dot

AGENT = "maas:agent:AgentService"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A hostile description: markup, quotes and Graphviz escape sequences must all reach the page as text.
HOSTILE = '<script>alert("owned")</script> & <img src=x onerror=alert(1)> "q" \\N \\G'
SPINNER = re.compile("[\u2800-\u28ff]")  # rich's dots spinner
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# Rule metadata as the report reads it; the IDs are the test's own, so no registered rule is assumed.
RULES = {
    "TEST-TAG-001": Rule(id="TEST-TAG-001", title="Resources carry the cost-center tag", description="",
                         severity="low", level="mandatory", remediation="Set cost_center on the agent.",
                         frameworks={}, check=lambda r, c: ()),
    "TEST-STK-002": Rule(id="TEST-STK-002", title="The stack sets an alert receiver", description="",
                         severity="medium", level="advisory", remediation="Add maas:observability.receivers.",
                         frameworks={}, check=lambda r, c: ()),
}


def maas(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, **kwargs)


def config_of(stack: str) -> dict[str, Any]:
    """The shipped stack config: what the report must agree with, read independently of the plan."""
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


def declared_messaging(config: dict[str, Any]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(agent, topic) pairs the config says are published and subscribed."""
    publishes, subscribes = set(), set()
    for agent in config.get("maas:agents") or []:
        messaging = agent.get("messaging") or {}
        publishes |= {(agent["name"], topic) for topic in messaging.get("publishes") or []}
        subscribes |= {(agent["name"], s if isinstance(s, str) else s["topic"]) for s in messaging.get("subscribes") or []}
    return publishes, subscribes


def agent_names(plan: Plan) -> set[str]:
    return set((plan.cost or {}).get("by_agent") or {}) | set((plan.outputs.get("agents") or {}))


def with_findings(plan: Plan) -> Plan:
    """``plan`` with findings: one on triage's table, one on the stack, and one exempted."""
    table = next(r for r in plan.resources if r.type == "aws:dynamodb/table:Table" and "triage" in r.name)
    cluster = next(r for r in plan.resources if r.type == "aws:eks/cluster:Cluster")
    violations = [
        {"policy": "TEST-TAG-001", "severity": "low", "level": "mandatory", "urn": table.urn,
         "message": "missing tags: cost-center"},
        {"policy": "TEST-STK-002", "severity": "medium", "level": "advisory", "urn": "",
         "message": "no alert receiver is configured"},
        {"policy": "UNKNOWN-9", "severity": "high", "level": "advisory", "urn": cluster.urn,
         "message": "a rule this build does not know"},
    ]
    exempted = [{"policy": "TEST-TAG-001", "severity": "low", "level": "mandatory", "urn": cluster.urn,
                 "message": "missing tags: team", "reason": "shared by every team"}]
    return dataclasses.replace(plan, violations=violations, exempted=exempted)


def with_hostile_description(plan: Plan) -> Plan:
    """``plan`` whose ``tickets`` topic has a description full of markup."""
    resources = copy.deepcopy(plan.resources)
    for resource in resources:
        if resource.type == "aws:sns/topic:Topic" and resource.name.endswith("-tickets"):
            resource.inputs["displayName"] = HOSTILE
    return dataclasses.replace(plan, resources=resources)


class Elements(HTMLParser):
    """Start tags of a page as (tag, attributes): enough to count cards, rows and nodes."""

    def __init__(self, page: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Any]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def having(self, tag: str, css: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and css in a.get("class", "").split()]


# -- the view model ---------------------------------------------------------------------------

def test_every_agent_gets_its_messaging_budget_and_cost(dev):
    report = build(dev)
    config = config_of("dev")
    assert {a.name for a in report.agents} == {a["name"] for a in config["maas:agents"]}
    publishes, subscribes = declared_messaging(config)
    assert {(a.name, t) for a in report.agents for t in a.publishes} == publishes
    assert {(a.name, t) for a in report.agents for t in a.subscribes} == subscribes
    assert {t.name for t in report.topics} == {t["name"] for t in config["maas:broker"]["topics"]}
    budgets = {a["name"]: a["budget"]["monthly_usd"] for a in config["maas:agents"]
               if (a.get("budget") or {}).get("monthly_usd")}
    assert budgets and {a.name: a.budget_usd for a in report.agents if a.name in budgets} == budgets
    for agent in report.agents:
        assert agent.slos and all(0 < float(s.target_percent) < 100 for s in agent.slos), agent.name
        assert agent.monthly == dev.cost["by_agent"][agent.name]["monthly"]
        assert agent.resource_count == sum(1 for r in dev.resources if _owned_by(dev, r, agent.name))


def _owned_by(plan: Plan, resource: PlannedResource, agent: str) -> bool:
    """Whether ``resource`` sits below the agent's component (walking parents)."""
    if not resource.custom:
        return False
    parent = resource.parent
    while parent in plan.by_urn:
        owner = plan.by_urn[parent]
        if owner.type == AGENT:
            return owner.name.endswith(f"-agent-{agent}") or owner.name == agent
        parent = owner.parent
    return False


def test_cost_bars_account_for_the_whole_estimate(dev):
    cost = build(dev).cost
    assert cost is not None
    assert sum(bar.monthly for bar in cost.bars) == pytest.approx(dev.cost["monthly_total"], abs=0.01 * len(cost.bars))
    assert {bar.label for bar in cost.bars if bar.kind == "agent"} == set(dev.cost["by_agent"])
    assert [bar.monthly for bar in cost.bars] == sorted((bar.monthly for bar in cost.bars), reverse=True)


def test_findings_carry_their_rule_and_land_on_the_agent_that_owns_the_resource(dev):
    report = build(with_findings(dev), rules=RULES)
    by_policy = {f.policy: f for f in report.findings}
    tag = by_policy["TEST-TAG-001"]
    assert (tag.title, tag.remediation, tag.agent) == (RULES["TEST-TAG-001"].title, "Set cost_center on the agent.",
                                                        "triage")
    assert [f.policy for f in next(a for a in report.agents if a.name == "triage").findings] == ["TEST-TAG-001"]
    assert by_policy["TEST-STK-002"].resource == "(stack)" and by_policy["TEST-STK-002"].agent is None
    assert by_policy["UNKNOWN-9"].title == "UNKNOWN-9" and by_policy["UNKNOWN-9"].remediation == ""
    assert report.exempted[0].reason == "shared by every team"
    # Mandatory before advisory, then by severity.
    assert [g.policy for g in report.finding_groups] == ["TEST-TAG-001", "UNKNOWN-9", "TEST-STK-002"]


# -- the page ---------------------------------------------------------------------------------

def test_findings_section_shows_each_finding_with_its_remediation(dev):
    page = render_report(with_findings(dev), rules=RULES)
    elements = Elements(page)
    assert len(elements.having("tr", "finding")) == 3
    assert {a["data-policy"] for a in elements.having("article", "rule-group")} == {"TEST-TAG-001", "TEST-STK-002",
                                                                                      "UNKNOWN-9"}
    assert "Set cost_center on the agent." in page and "Add maas:observability.receivers." in page
    assert len(elements.having("tr", "exempted")) == 1 and "shared by every team" in page
    triage = page[page.index('id="agent-triage"'):]
    triage = triage[: triage.index("</article>")]
    assert "TEST-TAG-001" in triage and "missing tags: cost-center" in triage


def test_text_from_the_config_is_escaped_in_the_page_and_the_diagram(dev):
    report = build(with_hostile_description(dev))
    svg = render_svg(to_dot(report))  # the DOT stays valid
    page = render_report(with_hostile_description(dev))
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(" in page
    assert "<script" not in svg and "<img" not in svg and "&lt;script&gt;alert(" in svg


def test_a_diagram_of_many_agents_draws_teams_in_rows(dev):
    report = build(dev)
    many = [dataclasses.replace(agent, name=f"{agent.name}-{i}", team=f"team-{i % 10}")
            for i in range(40) for agent in report.agents[:1]]
    svg = render_svg(to_dot(dataclasses.replace(report, agents=tuple(many))))
    elements = Elements(svg)
    assert len(elements.having("g", "agent")) == 0 and len(elements.having("g", "agent-group")) == 10
    width, height = (float(v) for v in re.search(r'viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', svg).groups())
    assert width < 3 * height  # rows, not one line of nodes
    few = Elements(render_svg(to_dot(report)))
    assert len(few.having("g", "agent")) == len(report.agents) and not few.having("g", "agent-group")


def test_the_page_needs_no_network_and_runs_no_script(dev):
    page = render_report(dev)
    elements = Elements(page)
    assert not [a for t, a in elements.tags if t == "script"]
    for tag, attributes in elements.tags:
        for name, value in attributes.items():
            if name.endswith(("href", "src")):  # xlink:href too
                assert not re.match(r"(?i)(https?:)?//", value), (tag, name, value)
    assert len(elements.having("svg", "diagram")) == 1 and len(elements.having("svg", "cost-chart")) == 1


def test_missing_graphviz_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DiagramError, match="apt-get install graphviz"):
        require_dot()
    started = time.perf_counter()
    result = maas("plan", "--stack", "dev", "--html", str(tmp_path / "r.html"), env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "r.html").exists()
    assert time.perf_counter() - started < 30  # refused before planning


def test_cli_writes_the_report_and_no_progress_when_output_is_not_a_terminal(tmp_path):
    path = tmp_path / "out" / "report.html"
    result = maas("plan", "--stack", "dev", "--html", str(path))
    assert result.returncode in (0, 1), result.stderr  # 1: planned, with mandatory violations
    assert f"wrote {path}" in result.stdout.replace("\n", "")
    assert len(Elements(path.read_text()).having("article", "agent-card")) == len(config_of("dev")["maas:agents"])
    assert "resources in" in result.stdout  # the summary is printed; the live progress is not
    for stream in (result.stdout, result.stderr):
        assert not SPINNER.search(stream) and "planning maas" not in stream and "\x1b[?25l" not in stream


# -- in a real browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); CI installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_page(browser, path: Path):
    """The page at ``path`` and what went wrong loading it: console errors, page errors, dialogs, remote requests."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda request: None if request.url.startswith(("file:", "data:"))
            else problems.append(f"request: {request.url}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def test_dev_report_in_chromium(browser, dev, tmp_path):
    path = write_report(dev, tmp_path / "report.html")
    page, problems = open_page(browser, path)
    assert problems == []
    names = agent_names(dev)
    assert len([r for r in dev.resources if r.type == AGENT]) == len(names)
    cards = page.locator(".agent-card")
    assert cards.count() == len(names)
    assert {cards.nth(i).get_attribute("data-agent") for i in range(cards.count())} == names
    for name in names:
        card = page.locator(f'.agent-card[data-agent="{name}"]')
        assert card.locator("h3").inner_text() == name
        assert card.locator("table.slos tbody tr").count() == len(dev.outputs["agents"][name]["slos"])
        assert card.is_visible()

    diagram = page.locator("svg.diagram")
    assert diagram.count() == 1 and diagram.bounding_box()["width"] > 400
    assert page.locator("svg.diagram g.node.agent").count() == len(names)
    topics = dev.outputs["messaging"]["topics"]
    assert page.locator("svg.diagram g.node.topic").count() == len(topics)
    publishes, subscribes = declared_messaging(config_of("dev"))
    assert page.locator("svg.diagram g.edge.publish").count() == len(publishes)
    assert page.locator("svg.diagram g.edge.subscribe").count() == len(subscribes)
    for agent, topic in publishes:
        assert page.locator(f'svg.diagram g.edge.publish[id="publish-{agent}-{topic}"]').count() == 1

    bars = page.locator("svg.cost-chart g.bar")
    monthly = [float(bars.nth(i).get_attribute("data-monthly")) for i in range(bars.count())]
    assert sum(monthly) == pytest.approx(dev.cost["monthly_total"], abs=0.01 * len(monthly))
    assert page.locator("svg.cost-chart g.bar.agent").count() == len(names)
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert widths[0] == max(widths)  # the largest cost draws the longest bar

    # A diagram node links to its agent's card.
    page.locator("svg.diagram g.node.agent a").first.click()
    assert page.evaluate("location.hash").startswith("#agent-")

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    page.close()


def test_findings_and_hostile_text_in_chromium(browser, dev, tmp_path):
    plan = with_hostile_description(with_findings(dev))
    path = write_report(plan, tmp_path / "report.html", rules=RULES)
    page, problems = open_page(browser, path)
    assert problems == []  # no alert() ran, nothing was fetched
    assert page.locator("#findings tr.finding").count() == len(plan.violations)
    assert page.locator("#findings .rule-group").count() == 3
    assert page.locator(".agent-card[data-agent=triage] .finding-summary").count() == 1
    assert HOSTILE in page.locator("#topics").inner_text()
    assert page.locator("svg.diagram g.node.topic", has_text="<script>").count() == 1
    page.screenshot(path=str(tmp_path / "report-findings.png"), full_page=True)
    page.close()


# -- progress ---------------------------------------------------------------------------------

def test_the_engine_reports_every_registration_as_it_happens(tmp_path):
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi, pulumi_aws as aws\n"
        "key = aws.kms.Key('k')\n"
        "for i in range(3):\n"
        "    aws.sqs.Queue(f'q{i}', kms_master_key_id=key.arn)\n"
    )
    heard = []
    capture = run_program(tmp_path, project="t", stack="dev", config={}, cloud=FakeCloud("us-east-1"),
                          on_register=heard.append)
    assert sorted(r.urn for r in heard) == sorted(r.urn for r in capture.resources)
    assert len(heard) == len(capture.resources) == 4  # the key and three queues


def test_a_team_plan_reports_its_platform_stack_first():
    heard: list[str] = []
    plan = plan_project(ROOT / "stacks" / "teams" / "example", stack="dev",
                        on_register=lambda r: heard.append(r.urn.split("::")[1]))
    projects = list(dict.fromkeys(heard))
    assert projects == ["maas", plan.project]
    assert Counter(heard)[plan.project] == len(plan.resources)


def run_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run ``maas`` with stdout and stderr on a pseudo-terminal; its exit code and everything it drew."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "LINES": "50", "TERM": "xterm-256color"}
    for variable in ("NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_TERMINAL"):
        env.pop(variable, None)
    process = subprocess.Popen([sys.executable, "-m", "maas_platform.cli", *args], cwd=ROOT, stdin=subprocess.DEVNULL,
                               stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    os.close(master)
    return process.wait(timeout=30), b"".join(chunks).decode(errors="replace")


def test_progress_counts_resources_on_a_terminal(dev, tmp_path):
    code, drawn = run_on_a_terminal("plan", "--stack", "dev", "--json", str(tmp_path / "p.json"))
    assert code in (0, 1), drawn[-2000:]
    assert SPINNER.search(drawn)
    counts = [int(n) for n in re.findall(r"planning maas/dev (\d+) resources", ANSI.sub("", drawn))]
    assert counts and max(counts) == len(dev.resources)  # the last frame counts every registration


def test_no_progress_when_quiet_on_a_terminal(tmp_path):
    code, drawn = run_on_a_terminal("plan", "--stack", "dev", "--json", str(tmp_path / "q.json"), "--quiet")
    assert code in (0, 1)
    assert not SPINNER.search(drawn) and "planning" not in drawn


# -- what the cards say (the report never misleads) --------------------------------------------

@pytest.fixture(scope="module")
def team() -> Plan:
    return plan_project(ROOT / "stacks" / "teams" / "example", stack="dev")


def _card(page: str, agent: str) -> str:
    card = page[page.index(f'id="agent-{agent}"'):]
    return card[: card.index("</article>")]


def _autoscaler_range(plan: Plan, agent: str) -> tuple[int, int]:
    """(min, max) of the autoscaler aimed at the agent's own Deployment, read straight from the plan."""
    for resource in plan.resources:
        spec = resource.inputs.get("spec") or {}
        if (spec.get("scaleTargetRef") or {}).get("name") == agent and resource.inputs.get("metadata", {}).get(
                "namespace") == agent:
            if "maxReplicaCount" in spec:
                return int(spec["minReplicaCount"]), int(spec["maxReplicaCount"])
            return int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
    raise AssertionError(f"no autoscaler for {agent}")


def test_an_agent_without_an_inbox_shows_the_range_its_autoscaler_allows(team, dev):
    report = build(team)
    summarizer = next(a for a in report.agents if a.name == "summarizer")
    assert not summarizer.subscribes  # no inbox, so a HorizontalPodAutoscaler, not a ScaledObject
    assert summarizer.replicas == _autoscaler_range(team, "summarizer") and summarizer.replicas[0] < summarizer.replicas[1]
    for plan in (dev, team):
        for agent in build(plan).agents:
            assert agent.replicas == _autoscaler_range(plan, agent.name), agent.name
            assert agent.image and "egress" not in agent.image  # the agent's container, not its egress proxy's


def test_team_agents_show_their_slos_without_exporting_them(team, dev):
    # What a team program that exports no SLOs gives the report.
    exported = {name: {k: v for k, v in record.items() if k != "slos"} for name, record in team.outputs["agents"].items()}
    for agent in build(dataclasses.replace(team, outputs={**team.outputs, "agents": exported})).agents:
        rules = [r for r in team.resources if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
                 and r.inputs["metadata"]["namespace"] == agent.name]
        objectives = {rule["labels"]["slo"]: rule["expr"] for r in rules for g in r.inputs["spec"]["groups"]
                      for rule in g["rules"] if rule.get("record") == "slo:objective:ratio"}
        assert {s.name for s in agent.slos} == set(objectives) and objectives, agent.name
        for slo in agent.slos:
            assert objectives[slo.name] == f"vector({float(slo.target_percent) / 100:g})"
            assert slo.window == "28d"
        assert next(s for s in agent.slos if s.name == "latency").threshold_ms == 2000
    # A platform agent reads the same from its OpenSLO export as a team agent from its rules.
    triage = next(a for a in build(dev).agents if a.name == "triage")
    exported = dev.outputs["agents"]["triage"]["slos"]
    assert [(s.name, float(s.target_percent) / 100) for s in triage.slos] == [
        (d["metadata"]["labels"]["slo"], pytest.approx(d["spec"]["objectives"][0]["target"])) for d in exported]
    assert {s.name: s.threshold_ms for s in triage.slos}["latency"] == 2000


def test_cards_show_thresholds_secret_names_env_keys_and_topic_descriptions_never_values(dev):
    page = render_report(dev)
    triage = _card(page, "triage")
    assert "≤ 2000 ms" in triage
    assert "maas-dev/agents/triage/llm-gateway-key" in triage and "LLM_GATEWAY_KEY" in triage
    deployment = next(r for r in dev.resources if r.type == "kubernetes:apps/v1:Deployment"
                      and r.inputs["metadata"]["name"] == "triage")
    env = deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    assert all(f">{e['name']}<" in triage for e in env)
    assert "gpt-4.1-mini" not in triage  # the value of its MODEL variable
    tickets = next(r for r in dev.resources if r.type == "aws:sns/topic:Topic" and r.name.endswith("-tickets"))
    assert tickets.inputs["displayName"] and tickets.inputs["displayName"] in triage


def with_refusing_topic(plan: Plan) -> Plan:
    """``plan`` whose ``tickets`` topic policy names another role as its only publisher."""
    resources = copy.deepcopy(plan.resources)
    for resource in resources:
        if resource.type == "aws:sns/topicPolicy:TopicPolicy" and resource.name.endswith("-tickets-policy"):
            resource.inputs["policy"] = resource.inputs["policy"].replace("role/maas-dev-agent-triage",
                                                                          "role/maas-dev-agent-someone-else")
    return dataclasses.replace(plan, resources=resources)


def test_a_publish_the_topic_would_refuse_is_drawn_refused(dev):
    report = build(with_refusing_topic(dev))
    triage = next(a for a in report.agents if a.name == "triage")
    assert "tickets" not in triage.publishes
    assert triage.refused == (("tickets", "the topic's policy does not admit its role"),)
    svg = render_svg(to_dot(report))
    edges = Elements(svg).having("g", "refused")
    assert [e["id"] for e in edges] == ["refused-triage-tickets"]
    page = render_report(with_refusing_topic(dev))
    assert 'class="key refused"' in page and "refused" in _card(page, "triage")
    assert not Elements(render_svg(to_dot(build(dev)))).having("g", "refused")  # the shipped plan admits it


def test_after_deploy_lists_secret_values_the_database_user_and_dns(dev):
    agents = {a.name: a for a in build(dev).agents}
    research = [s.command for s in agents["research"].after_deploy]
    # The gateway credential is written by the platform: nobody puts its value.
    assert not any(c and "llm-gateway-key" in c for c in research)
    assert any(c and c.startswith("CREATE USER research; GRANT rds_iam TO research;") for c in research)
    reports = agents["reports"].after_deploy
    assert [s.title for s in reports] == ["point reports.dev.example.com at the public load balancer"]
    assert "get ingress reports" in reports[0].command
    assert not any("DNS" in s.detail or "load balancer" in s.title for s in agents["triage"].after_deploy)
    assert "After deploy" in _card(render_report(dev), "research")


# -- a layout that does not depend on the machine's fonts --------------------------------------

FONT_SETS = {  # family -> its regular and bold files on Debian (fonts-dejavu-core)
    "sans": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
}
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")


def font_config(tmp_path: Path, family: str) -> dict[str, str]:
    """An environment whose fontconfig sees only ``family``'s two files."""
    if not all((FONT_DIR / f).exists() for f in FONT_SETS[family]):
        pytest.skip(f"the DejaVu {family} fonts are not installed (Debian: fonts-dejavu-core)")
    fonts = tmp_path / family / "fonts"
    fonts.mkdir(parents=True)
    for name in FONT_SETS[family]:
        (fonts / name).symlink_to(FONT_DIR / name)
    config = tmp_path / family / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>{fonts}</dir>'
                      f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    return {**os.environ, "FONTCONFIG_FILE": str(config)}


def test_the_diagram_is_laid_out_the_same_with_either_font_set(dev, team, tmp_path):
    for plan in (dev, team):
        source = to_dot(build(plan))
        drawn = [subprocess.run([require_dot(), "-Tsvg"], input=source, capture_output=True, text=True, check=True,
                                env=font_config(tmp_path / f"{plan.project}-{family}", family)).stdout
                 for family in FONT_SETS]
        assert drawn[0] == drawn[1]


def test_no_label_overflows_its_box_with_either_font_set(browser, dev, tmp_path):
    """The page in Chromium with only DejaVu Sans, then only DejaVu Serif: every text of the diagram
    ends inside its node or box."""
    path = write_report(with_refusing_topic(dev), tmp_path / "report.html")
    measure = """() => [...document.querySelectorAll('svg.diagram g.node, svg.diagram g.cluster')].map(g => {
        const shape = g.querySelector('path, polygon').getBBox();
        return [g.id, shape.x, shape.y, shape.width, shape.height,
                [...g.querySelectorAll('text')].map(t => { const b = t.getBBox(); return [t.textContent, b.x, b.y, b.width, b.height]; })];
    })"""
    for family in FONT_SETS:
        # The module's browser runs with the machine's fonts; this one sees only the one family.
        limited = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              env=font_config(tmp_path / family, family))
        page = limited.new_page(viewport={"width": 1280, "height": 900})
        page.goto(path.as_uri())
        boxes = page.evaluate(measure)
        assert len(boxes) > 10
        for name, x, y, width, height, texts in boxes:
            for text, tx, ty, tw, th in texts:
                assert tw > 0, (family, name, text)
                assert x - 0.5 <= tx and tx + tw <= x + width + 0.5, (family, name, text, tx + tw, x + width)
        page.screenshot(path=str(tmp_path / f"report-{family}.png"), full_page=True)
        limited.close()
