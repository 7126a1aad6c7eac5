"""Chart pins that exist and fit the cluster: the lock file, the releases of every shipped plan
held to it, each stack's Kubernetes version held to each chart's recorded range, chart defaults
deleted the way that reaches Helm, and the CI job that asks each chart repository.

The lock file (``components/charts.lock.yaml``) is the only place a chart version is written;
the components read it, :func:`helm_release` refuses anything else, and the workflow
``.github/workflows/charts.yml`` checks it against the repositories where there is network.
The workflow's own steps run here against a stand-in ``helm`` that answers from a table.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ENVIRONMENTS, ROOT, plan_program
from maas_platform.components.workloads import (
    CHART_LOCK_FILE,
    Chart,
    chart_lock,
    locked_chart,
    parse_chart_lock,
    removed_defaults_file,
)
from maas_platform.config.defaults import DEFAULT_KUBERNETES_VERSION
from maas_platform.config.loader import load_platform_config_file
from maas_platform.plan import plan_project
from test_workflows import load, steps, validate

RELEASE = "kubernetes:helm.sh/v3:Release"
LOCK_PATH = ROOT / "platform" / "maas_platform" / "components" / CHART_LOCK_FILE
WORKFLOW = ROOT / ".github" / "workflows" / "charts.yml"
TEAM = ROOT / "stacks" / "teams" / "example"


@pytest.fixture(scope="module")
def team():
    return plan_project(TEAM, stack="dev")


def releases(plan) -> list[dict[str, Any]]:
    return [r["inputs"] for r in plan.of_type(RELEASE)]


# -- the lock file ---------------------------------------------------------------------------------

def test_the_lock_file_is_package_data_the_wheel_ships():
    pyproject = (ROOT / "pyproject.toml").read_text()
    [data] = re.findall(r"^maas_platform = \[(.*)\]$", pyproject, re.M)
    assert '"components/charts.lock.yaml"' in data
    assert LOCK_PATH.is_file()


def test_every_entry_says_what_was_checked_where_and_when():
    lock = chart_lock()
    for entry in lock.charts:
        assert entry.checked in ("2026-12-02", "2026-12-03"), entry.chart
        assert all(len(where) > 40 for where in entry.where), entry.chart
        # An OCI registry has no index.yaml: its entry says how the release pushes the version there.
        published = "helm push" if entry.repository.startswith("oci://") else "index"
        assert any(published in where for where in entry.where), f"{entry.chart}: no published copy named"
        assert any(("tag" in where or "@" in where) and "Chart.yaml" in where for where in entry.where), entry.chart
        assert entry.kubernetes.source, entry.chart


def test_the_lock_file_refuses_a_range_a_repeat_and_an_unchecked_entry():
    entry = chart_lock().charts[0].model_dump()
    with pytest.raises(ValueError, match="version"):
        parse_chart_lock(yaml.safe_dump({"charts": [{**entry, "version": "^2.8"}]}))
    with pytest.raises(ValueError, match="more than once"):
        parse_chart_lock(yaml.safe_dump({"charts": [entry, entry]}))
    with pytest.raises(ValueError, match="where"):
        parse_chart_lock(yaml.safe_dump({"charts": [{**entry, "where": []}]}))
    with pytest.raises(ValueError, match="newer than max"):
        parse_chart_lock(yaml.safe_dump({"charts": [{**entry, "kubernetes": {**entry["kubernetes"], "min": "1.36",
                                                                             "max": "1.35"}}]}))


@pytest.mark.parametrize("chart, version, app_version", [
    ("opentelemetry-collector", "0.170.0", "0.158.0"),  # 0.158.3 was never published
    ("kube-prometheus-stack", "88.5.3", "v0.93.1"),  # 91.5.0 is in no published index reachable here
    ("external-secrets", "2.8.0", "v2.8.0"),  # 2.10.0 likewise; 2.9 is tested on 1.36 only
    ("keda", "2.20.2", "2.20.2"),  # 2.17 is tested on Kubernetes 1.30-1.32
    ("prometheus-blackbox-exporter", "11.17.2", "v0.28.0"),  # v0.27.0 was recorded
])
def test_pins_moved_to_versions_that_were_published_and_fit(chart, version, app_version):
    entry = chart_lock().entry(chart)
    assert (entry.version, entry.app_version) == (version, app_version)


# -- the releases of every shipped plan ------------------------------------------------------------

def pin_of(inputs: dict) -> tuple[str, str, str]:
    """(repository, chart, version) of a release's inputs; an OCI chart is named by its reference alone."""
    if inputs["chart"].startswith("oci://"):
        repo, _, chart = inputs["chart"].rpartition("/")
        return repo, chart, inputs["version"]
    return inputs["repositoryOpts"]["repo"], inputs["chart"], inputs["version"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_release_is_a_pin_of_the_lock_file(plans, env):
    found = releases(plans[env])
    assert found
    lock = chart_lock()
    for inputs in found:
        repo, chart, version = pin_of(inputs)
        assert lock.holds(repo, chart, version), (
            f"{env}: {inputs['chart']} {inputs['version']} from {repo} is not in {CHART_LOCK_FILE}")


def test_the_team_stack_installs_no_chart_outside_the_lock_file(team):
    lock = chart_lock()
    for inputs in releases(team):
        assert lock.holds(*pin_of(inputs)), inputs["chart"]


def test_every_pin_of_the_lock_file_is_installed(plans):
    """No stale entry: a chart that nothing installs any more leaves the lock file."""
    installed = {pin_of(i) for p in plans.values() for i in releases(p)}
    assert {(e.repository, e.chart, e.version) for e in chart_lock().charts} == installed


def test_a_release_of_a_chart_outside_the_lock_file_is_refused(tmp_path_factory):
    program = textwrap.dedent("""
        import pulumi
        from maas_platform.components.workloads import Chart, helm_release

        class Holder(pulumi.ComponentResource):
            def __init__(self):
                super().__init__("maas:test:Holder", "holder")
                helm_release(self, "rogue", Chart(name="keda", version="2.17.2",
                             repo="https://kedacore.github.io/charts", app_version="2.17.2"),
                             namespace="keda", values={}, depends_on=[], protect=False)

        Holder()
    """)
    with pytest.raises(Exception, match=r"chart keda 2\.17\.2 .* is not in charts\.lock\.yaml"):
        plan_program(tmp_path_factory, "rogue-chart", program)


# -- the cluster's Kubernetes version against each chart's range ----------------------------------------

def shipped_kubernetes_versions() -> dict[str, str]:
    versions = {"default": DEFAULT_KUBERNETES_VERSION}
    for env in ENVIRONMENTS:
        config = load_platform_config_file(ROOT / "stacks" / f"Pulumi.{env}.yaml")
        versions[env] = config.cluster.kubernetes_version
    return versions


@pytest.mark.parametrize("stack, version", sorted(shipped_kubernetes_versions().items()))
def test_each_stacks_kubernetes_version_is_inside_every_charts_range(stack, version):
    outside = {e.chart: reason for e in chart_lock().charts if (reason := e.excludes(version))}
    assert outside == {}, f"maas:cluster.kubernetes_version {version} ({stack}) leaves: {outside}"


def test_a_version_outside_a_range_is_named():
    keda = chart_lock().entry("keda")
    # KEDA 2.17's row of the compatibility table: what the previous pin was tested on.
    old = keda.model_copy(update={"kubernetes": keda.kubernetes.model_copy(update={"min": "1.30", "max": "1.32"})})
    assert old.excludes("1.35").startswith("Kubernetes 1.35 is newer than 1.32")
    assert keda.excludes("1.36").startswith("Kubernetes 1.36 is newer than 1.35")
    assert keda.excludes("1.32").startswith("Kubernetes 1.32 is older than 1.33")
    assert keda.excludes("1.35") is None
    stack = chart_lock().entry("kube-prometheus-stack")
    assert "refuses Kubernetes 1.24" in stack.excludes("1.24")  # its kubeVersion ">=1.25.0-0"
    assert chart_lock().entry("fluent-bit").excludes("1.40") is None  # no range published


# -- chart defaults deleted the way that reaches Helm ----------------------------------------------------

def test_pulumi_kubernetes_is_new_enough_to_pass_nulls_on_to_helm():
    """4.30.0 stopped stripping nulls (pulumi-kubernetes CHANGELOG, #2997)."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    [floor] = re.findall(r'"pulumi-kubernetes>=(\d+)\.(\d+)', pyproject)
    assert tuple(map(int, floor)) >= (4, 30)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_release_carries_a_null_inline(plans, env):
    def nulls(value: Any, path: str) -> list[str]:
        if isinstance(value, dict):
            return [p for k, v in value.items() for p in nulls(v, f"{path}.{k}")]
        if isinstance(value, list):
            return [p for i, v in enumerate(value) for p in nulls(v, f"{path}[{i}]")]
        return [path] if value is None else []

    for inputs in releases(plans[env]):
        assert nulls(inputs["values"], inputs["chart"]) == []


def test_the_collectors_deleted_defaults_reach_the_release_as_a_values_file(dev):
    (collector,) = [i for i in releases(dev) if i["chart"] == "opentelemetry-collector"]
    [document] = collector["valueYamlFiles"]
    assert yaml.safe_load(document["text"]) == {"config": {
        "receivers": {"jaeger": None, "prometheus": None, "zipkin": None},
        "service": {"pipelines": {"logs": None}},
    }}
    assert "jaeger" not in collector["values"]["config"]["receivers"]
    assert "logs" not in collector["values"]["config"]["service"]["pipelines"]


def test_removed_defaults_are_nulls_only():
    assert yaml.safe_load(removed_defaults_file({"a": {"b": None}}).text) == {"a": {"b": None}}
    with pytest.raises(ValueError, match=r"every leaf must be None"):
        removed_defaults_file({"a": {"b": None, "c": 1}})
    with pytest.raises(ValueError, match=r"every leaf must be None"):
        removed_defaults_file({})


def test_a_null_inline_is_refused(tmp_path_factory):
    program = textwrap.dedent("""
        import pulumi
        from maas_platform.components.workloads import helm_release, locked_chart

        class Holder(pulumi.ComponentResource):
            def __init__(self):
                super().__init__("maas:test:Holder", "holder")
                helm_release(self, "inline-null", locked_chart("keda"), namespace="keda",
                             values={"podIdentity": {"aws": None}}, depends_on=[], protect=False)

        Holder()
    """)
    with pytest.raises(Exception, match=r"values podIdentity\.aws are None; delete chart defaults with removed_defaults"):
        plan_program(tmp_path_factory, "inline-null", program)


# -- the workflow ---------------------------------------------------------------------------------------

def test_the_charts_workflow_is_valid_against_the_github_workflow_schema_offline():
    result = validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_renders_with_the_helm_pulumi_kubernetes_renders_with():
    [setup] = [s for s in steps(load("charts.yml")) if str(s.get("uses", "")).startswith("azure/setup-helm@")]
    assert setup["with"]["version"] == "v3.20.2"  # pulumi-kubernetes provider/go.mod: helm.sh/helm/v3 v3.20.2


def step(name: str) -> str:
    [found] = [s["run"] for s in steps(load("charts.yml")) if s.get("name", "").startswith(name)]
    return found


# A stand-in for helm: answers `show chart` from $HELM_CHARTS (JSON: "chart@version" -> appVersion),
# `pull` unpacks a chart holding values.schema.json when it is listed in $HELM_SCHEMAS, and logs every call.
FAKE_HELM = """#!{python}
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["HELM_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
charts = json.loads(os.environ["HELM_CHARTS"])
schemas = json.loads(os.environ["HELM_SCHEMAS"])
if args[:2] == ["repo", "add"]:
    sys.exit(0)
if args[0] in ("show", "pull"):
    ref = args[2] if args[0] == "show" else args[1]
    chart = ref.rsplit("/", 1)[1]
    version = args[args.index("--version") + 1]
    if f"{{chart}}@{{version}}" not in charts:
        print(f"Error: chart \\"{{chart}}\\" version \\"{{version}}\\" not found", file=sys.stderr)
        sys.exit(1)
    if args[0] == "show":
        print(f"apiVersion: v2\\nname: {{chart}}\\nversion: {{version}}\\nappVersion: {{charts[chart + '@' + version]}}")
    else:
        target = Path(args[args.index("--untardir") + 1]) / chart
        target.mkdir(parents=True, exist_ok=True)
        (target / "Chart.yaml").write_text(f"name: {{chart}}\\n")
        if chart in schemas:
            (target / "values.schema.json").write_text("{{}}")
    sys.exit(0)
if args[0] == "template":
    sys.exit(int(os.environ.get("HELM_TEMPLATE_EXIT", "0")))
sys.exit(2)
"""


@pytest.fixture(scope="module")
def workdir(plans, tmp_path_factory) -> Path:
    """A checkout after the plan step: the three plans' JSON in out/charts, then the export step run."""
    root = tmp_path_factory.mktemp("charts-workflow")
    (root / "stacks").symlink_to(ROOT / "stacks")
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "out" / "charts").mkdir(parents=True)
    for env in ENVIRONMENTS:
        (root / "out" / "charts" / f"{env}.json").write_text(plans[env].to_json())
    result = subprocess.run(["bash", "-e", "-c", step("Export the lock file")], cwd=root, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def published() -> dict[str, str]:
    return {f"{e.chart}@{e.version}": e.app_version for e in chart_lock().charts}


def schemas() -> list[str]:
    return [e.chart for e in chart_lock().charts if e.values_schema]


def run_step(workdir: Path, name: str, tmp_path: Path, *, charts: dict[str, str], with_schema: list[str],
             template_exit: int = 0) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    helm = bin_dir / "helm"
    helm.write_text(FAKE_HELM.format(python=sys.executable))
    helm.chmod(0o755)
    log = tmp_path / "helm.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "HELM_LOG": str(log),
           "HELM_CHARTS": json.dumps(charts), "HELM_SCHEMAS": json.dumps(with_schema),
           "HELM_TEMPLATE_EXIT": str(template_exit)}
    result = subprocess.run(["bash", "-e", "-c", step(name)], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=120)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def test_the_export_step_writes_the_lock_and_each_releases_values_in_helms_order(workdir):
    rows = [line.split("\t") for line in (workdir / "out/charts/lock.tsv").read_text().splitlines()]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (e.chart, e.repository, e.version, e.app_version) for e in chart_lock().charts]
    for env in ENVIRONMENTS:
        assert (workdir / "out/charts" / env / "kubernetes-version").read_text() == f"v{DEFAULT_KUBERNETES_VERSION}.0\n"
        collector = workdir / "out/charts" / env / "opentelemetry-collector"
        assert sorted(p.name for p in collector.iterdir()) == ["1-file-0.yaml", "2-values.yaml"]
        assert yaml.safe_load((collector / "1-file-0.yaml").read_text())["config"]["receivers"]["jaeger"] is None
        values = yaml.safe_load((workdir / "out/charts" / env / "keda" / "2-values.yaml").read_text())
        assert values["serviceAccount"]["operator"]["name"] == "keda-operator"


def test_the_existence_step_asks_every_repository_for_every_pin(workdir, tmp_path):
    result, calls = run_step(workdir, "Every pin exists", tmp_path, charts=published(), with_schema=schemas())
    assert result.returncode == 0, result.stdout + result.stderr
    asked = [c for c in calls if c[:2] == ["show", "chart"]]
    assert sorted(asked) == sorted(["show", "chart", f"{e.repository}/{e.chart}" if e.repository.startswith("oci://")
                                    else f"lock-{e.chart}/{e.chart}", "--version", e.version]
                                   for e in chart_lock().charts)


def test_the_existence_step_fails_on_a_version_that_was_never_published(workdir, tmp_path):
    charts = {k: v for k, v in published().items() if not k.startswith("opentelemetry-collector@")}
    charts["opentelemetry-collector@0.158.2"] = "0.153.0"
    result, _ = run_step(workdir, "Every pin exists", tmp_path, charts=charts, with_schema=schemas())
    assert result.returncode != 0
    assert "::error::opentelemetry-collector 0.170.0 is not published in " in result.stdout


def test_the_existence_step_fails_when_the_app_version_differs(workdir, tmp_path):
    charts = {**published(), "prometheus-blackbox-exporter@11.17.2": "v0.27.0"}
    result, _ = run_step(workdir, "Every pin exists", tmp_path, charts=charts, with_schema=schemas())
    assert result.returncode != 0
    assert "ships appVersion 'v0.27.0'; the lock file records 'v0.28.0'" in result.stdout


def test_charts_with_a_schema_render_each_environments_values(workdir, tmp_path):
    result, calls = run_step(workdir, "Charts with a values schema", tmp_path, charts=published(),
                             with_schema=schemas())
    assert result.returncode == 0, result.stdout + result.stderr
    rendered = [c for c in calls if c[0] == "template"]
    assert sorted(schemas()) == ["external-secrets", "opentelemetry-collector"]
    assert len(rendered) == len(schemas()) * len(ENVIRONMENTS)
    for call in rendered:
        files = [call[i + 1] for i, arg in enumerate(call) if arg == "-f"]
        assert call[call.index("--kube-version") + 1] == f"v{DEFAULT_KUBERNETES_VERSION}.0"
        assert files[-1].endswith("/2-values.yaml")
        if call[1] == "opentelemetry-collector":
            assert [Path(f).name for f in files] == ["1-file-0.yaml", "2-values.yaml"]
    failing, _ = run_step(workdir, "Charts with a values schema", tmp_path, charts=published(),
                          with_schema=schemas(), template_exit=1)
    assert failing.returncode != 0 and "refuses the dev values" in failing.stdout


def test_the_schema_step_fails_when_the_lock_file_misstates_a_schema(workdir, tmp_path):
    result, _ = run_step(workdir, "Charts with a values schema", tmp_path, charts=published(),
                         with_schema=[*schemas(), "keda"])
    assert result.returncode != 0
    assert "keda 2.20.2: values.schema.json present=true, the lock file says false" in result.stdout


def test_locked_chart_is_the_lock_files_entry():
    entry = chart_lock().entry("keda")
    assert locked_chart("keda") == Chart(name="keda", version=entry.version, repo=entry.repository,
                                         app_version=entry.app_version)
    with pytest.raises(KeyError, match="not in charts.lock.yaml"):
        locked_chart("nginx")


def test_only_the_lock_file_writes_chart_versions():
    """No Chart(...) with a literal version in the package: pins come from locked_chart()."""
    package = ROOT / "platform" / "maas_platform"
    literal = re.compile(r"Chart\([^)]*version\s*=\s*[\"']")
    offenders = [str(p.relative_to(ROOT)) for p in package.rglob("*.py") if literal.search(p.read_text())]
    assert offenders == []
