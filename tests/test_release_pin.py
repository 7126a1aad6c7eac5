"""``maas release-pin``: a release pull request sets an agent's image and its kind (feature or fix)
together, keeps every other line of the stack file as written, and refuses an edit it cannot make
safely. Run on copies of the shipped stack files through the CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from maas_platform.cli.release_pin import PinError, pinned

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/maas-dev/reports@{DIGEST}"


def release_pin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", "release-pin", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


@pytest.fixture()
def dev(tmp_path: Path) -> Path:
    path = tmp_path / "Pulumi.dev.yaml"
    shutil.copy(ROOT / "stacks" / "Pulumi.dev.yaml", path)
    return path


def agent(path: Path, name: str) -> dict:
    return next(a for a in yaml.safe_load(path.read_text())["config"]["maas:agents"] if a["name"] == name)


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    return [(a, b) for a, b in zip(old, new) if a != b] + [("", line) for line in new[len(old):]]


@pytest.mark.parametrize("name", ["triage", "research", "reports"])
def test_a_release_pins_the_digest_and_keeps_the_rest_of_the_file(dev, name):
    before = dev.read_text()
    image = IMAGE.replace("reports", name)
    result = release_pin("--config", str(dev), "--agent", name, "--image", image)
    assert result.returncode == 0, result.stderr
    entry = agent(dev, name)
    assert entry["image"] == image
    assert entry["delivery"]["change"] == "feature" and entry["delivery"]["source"]
    others = {a["name"]: a for a in yaml.safe_load(before)["config"]["maas:agents"] if a["name"] != name}
    assert {a["name"]: a for a in yaml.safe_load(dev.read_text())["config"]["maas:agents"] if a["name"] != name} == others
    # Comments and layout stay: two lines differ or are added, the image line and delivery.change.
    assert sum(1 for line in dev.read_text().splitlines() if line.lstrip().startswith("#")) == \
        sum(1 for line in before.splitlines() if line.lstrip().startswith("#"))
    assert len(dev.read_text().splitlines()) == len(before.splitlines()) + 1


def test_a_fix_is_marked_and_the_next_feature_resets_it(dev):
    assert release_pin("--config", str(dev), "--agent", "reports", "--image", IMAGE, "--change", "fix").returncode == 0
    assert agent(dev, "reports")["delivery"]["change"] == "fix"
    lines = len(dev.read_text().splitlines())
    assert release_pin("--config", str(dev), "--agent", "reports", "--image", IMAGE.replace("ab", "cd")).returncode == 0
    assert agent(dev, "reports")["delivery"]["change"] == "feature", "a fix must not stay set for the next feature"
    assert len(dev.read_text().splitlines()) == lines, "the existing change line is rewritten, not added again"


def test_an_agent_without_delivery_gets_the_block_only_for_a_fix():
    text = "config:\n  maas:agents:\n    - name: a\n      team: t\n      image: x:1\n      env: {A: b}\n"
    assert pinned(text, "a", IMAGE, "feature") == text.replace("x:1", IMAGE)
    fixed = yaml.safe_load(pinned(text, "a", IMAGE, "fix"))["config"]["maas:agents"][0]
    assert fixed == {"name": "a", "team": "t", "image": IMAGE, "delivery": {"change": "fix"}, "env": {"A": "b"}}


def test_nested_names_and_a_second_agent_are_not_mistaken_for_the_agent():
    text = ("config:\n  maas:agents:\n    - name: a\n      team: t\n      tools:\n        - name: b\n          image: y:1\n"
            "      image: x:1\n    - name: b\n      image: z:1\n")
    after = yaml.safe_load(pinned(text, "b", IMAGE, "feature"))["config"]["maas:agents"]
    assert after[0]["image"] == "x:1" and after[0]["tools"][0]["image"] == "y:1" and after[1]["image"] == IMAGE


@pytest.mark.parametrize("args, code, fragment", [
    (["--agent", "nobody", "--image", IMAGE], 1, "no agent 'nobody'"),
    (["--agent", "reports", "--image", "ghcr.io/acme/report-agent:1.0"], 2, "is not pinned by digest"),
    (["--agent", "reports", "--image", IMAGE, "--change", "hotfix"], 2, "is neither feature nor fix"),
], ids=["unknown-agent", "tag", "unknown-kind"])
def test_what_cannot_be_done_safely_is_refused_and_nothing_is_written(dev, args, code, fragment):
    before = dev.read_text()
    result = release_pin("--config", str(dev), *args)
    assert result.returncode == code and fragment in result.stderr and "Traceback" not in result.stderr
    assert dev.read_text() == before


def test_delivery_in_flow_style_is_refused_with_the_fix():
    text = "config:\n  maas:agents:\n    - name: a\n      image: x:1\n      delivery: {source: {repository: o/r}}\n"
    with pytest.raises(PinError, match="write it as a block"):
        pinned(text, "a", IMAGE, "fix")
