"""A failing program is reported as the program's failure (exit 3, one line naming file:line),
never as a traceback with the exit code of policy violations; pure data sources are computed
offline as their provider computes them, any other one is named with what to pass instead."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from maas_platform.plan import plan_project
from maas_platform.plan.engine import ProgramFailure, run_program
from maas_platform.plan.fake_cloud import FakeCloud, policy_document

TEAM = ROOT / "stacks" / "teams" / "example"


def maas(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maas_platform.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def project(tmp_path: Path, program: str, **files: str) -> Path:
    """A one-file Pulumi project (no platform stack) in ``tmp_path``."""
    (tmp_path / "Pulumi.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  maas:environment: dev\n")
    (tmp_path / "__main__.py").write_text(program)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def program_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("program, where, expected", [
    ("import pulumi_aws as aws\n\nraise ValueError('no region for this team')\n", "__main__.py:3",
     "ValueError: no region for this team"),
    ("import pulumi_aws as aws\n\nq = aws.sqs.Queue('q'\n", "__main__.py:3", "SyntaxError: "),
    ("import pulumi_aws as aws\nq = aws.sqs.Queue('q')\naws.sqs.Queue('r', name=q.arn.apply(lambda a: a['x']))\n",
     "__main__.py:3", "TypeError: string indices must be integers"),
    ("import helpers\nhelpers.build()\n", "helpers.py:2", "KeyError: 'size'"),
], ids=["raise", "syntax-error", "inside-apply", "imported-module"])
def test_a_failing_program_exits_3_with_file_and_line(tmp_path, program, where, expected):
    directory = project(tmp_path, program, **{"helpers.py": "def build():\n    return {}['size']\n"})
    line = program_error(maas("plan", "--project-dir", str(directory), "--stack", "dev", "--quiet"))
    assert f"{directory / where}: " in line and expected in line


def test_debug_adds_the_traceback(tmp_path):
    directory = project(tmp_path, "raise ValueError('boom')\n")
    result = maas("plan", "--project-dir", str(directory), "--stack", "dev", "--quiet", "--debug")
    assert result.returncode == 3
    assert result.stderr.startswith(f"error: {directory / '__main__.py'}:1: ValueError: boom")
    assert "Traceback (most recent call last)" in result.stderr


@pytest.mark.parametrize("call", ["aws.ec2.get_ami(most_recent=True, owners=['amazon'])",
                                  "aws.ec2.get_ami_output(most_recent=True, owners=['amazon'])"])
def test_a_data_source_only_the_cloud_answers_is_one_line_naming_it(tmp_path, call):
    directory = project(tmp_path, f"import pulumi\nimport pulumi_aws as aws\n\nami = {call}\n"
                                  "pulumi.export('ami', ami.id)\n")
    line = program_error(maas("plan", "--project-dir", str(directory), "--stack", "dev", "--quiet"))
    assert f"{directory / '__main__.py'}:4: data source aws:ec2/getAmi:getAmi cannot be answered offline" in line
    assert "stack config" in line and "platform stack's outputs" in line


def test_a_helm_v3_chart_names_the_release_alternative(tmp_path):
    directory = project(tmp_path, "import pulumi_kubernetes as k8s\n"
                                  "k8s.helm.v3.Chart('web', k8s.helm.v3.ChartOpts(chart='nginx'))\n")
    line = program_error(maas("plan", "--project-dir", str(directory), "--stack", "dev", "--quiet"))
    assert "kubernetes:helm:template" in line and "helm.v3.Release" in line


def test_run_program_raises_program_failure_with_what_was_registered(tmp_path):
    directory = project(tmp_path, "import pulumi_aws as aws\naws.sqs.Queue('q')\nraise RuntimeError('late')\n")
    with pytest.raises(ProgramFailure) as failed:
        run_program(directory, project="broken", stack="dev", config={}, cloud=FakeCloud("us-east-1"))
    assert (failed.value.kind, failed.value.message) == ("RuntimeError", "late")
    assert failed.value.where.endswith("__main__.py:3")


# --- aws.iam.get_policy_document, computed offline ------------------------------------------------

# The provider's output for this document, derived by hand from terraform-provider-aws's
# policy_document_data_source.go and policy_model.go (see plan/fake_cloud.py): sets written
# reverse-sorted or as a string when single, principals grouped by type, conditions by test and
# variable, "&{" as "${", Go's HTML-safe escaping, the override replacing the statement of its Sid.
EXPECTED = {
    "Version": "2012-10-17",
    "Id": "team-reads",
    "Statement": [
        {"Sid": "Base", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Sid": "Base2", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*", "Principal": "*"},
        {"Sid": "Read", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
         "Resource": ["arn:aws:s3:::claims/${aws:username}/*", "arn:aws:s3:::claims"],
         "Principal": {"AWS": ["arn:aws:iam::222233334444:root", "arn:aws:iam::111122223333:root"],
                       "Service": "ec2.amazonaws.com"},
         "Condition": {"Bool": {"aws:SecureTransport": "true"},
                       "StringEquals": {"aws:PrincipalTag/team": ["claims", "a<b>&c"]}}},
        {"Effect": "Deny", "NotAction": ["s3:*", "kms:Decrypt"], "NotResource": "arn:aws:s3:::claims"},
    ],
}

TEAM_DOCUMENT = '''
doc = aws.iam.get_policy_document(
    policy_id="team-reads",
    source_policy_documents=[json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Base", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Sid": "Base2", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})],
    statements=[
        aws.iam.GetPolicyDocumentStatementArgs(
            sid="Read",
            actions=["s3:GetObject", "s3:ListBucket", "s3:GetObject"],
            resources=["arn:aws:s3:::claims", "arn:aws:s3:::claims/&{aws:username}/*"],
            principals=[
                aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                    type="AWS", identifiers=["arn:aws:iam::111122223333:root", "arn:aws:iam::222233334444:root"]),
                aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=["ec2.amazonaws.com"]),
            ],
            conditions=[
                aws.iam.GetPolicyDocumentStatementConditionArgs(
                    test="StringEquals", variable="aws:PrincipalTag/team", values=["claims", "a<b>&c"]),
                aws.iam.GetPolicyDocumentStatementConditionArgs(
                    test="Bool", variable="aws:SecureTransport", values=["true"]),
            ],
        ),
        aws.iam.GetPolicyDocumentStatementArgs(effect="Deny", not_actions=["kms:Decrypt", "s3:*"],
                                               not_resources=["arn:aws:s3:::claims"]),
    ],
    override_policy_documents=[json.dumps({"Statement": [
        {"Sid": "Base2", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*", "Principal": "*"}]})],
)
pulumi.export("policy_json", doc.json)
pulumi.export("policy_minified", doc.minified_json)
'''


def go_escaped(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@pytest.fixture(scope="module")
def platform_outputs(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("platform") / "platform-dev.json"
    path.write_text(json.dumps(plan_project(ROOT, stack="dev").stack_outputs().values))
    return path


def test_a_team_program_using_get_policy_document_plans_with_the_providers_json(tmp_path, platform_outputs):
    copy = tmp_path / "team"
    shutil.copytree(TEAM, copy, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    program = copy / "__main__.py"
    program.write_text("import json\n" + program.read_text() + TEAM_DOCUMENT)
    out = tmp_path / "plan.json"
    result = maas("plan", "--project-dir", str(copy), "--stack", "dev", "--platform-outputs", str(platform_outputs),
                  "--json", str(out), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = json.loads(out.read_text())["outputs"]
    assert outputs["policy_json"] == go_escaped(json.dumps(EXPECTED, indent=2, ensure_ascii=False))
    assert outputs["policy_minified"] == go_escaped(json.dumps(EXPECTED, separators=(",", ":")))


def test_policy_document_defaults_and_the_single_star_principal():
    result = policy_document({"statements": [{"actions": ["sts:AssumeRole"],
                                              "principals": [{"type": "*", "identifiers": ["*"]}]}]})
    assert result["minifiedJson"] == ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                                      '"Action":"sts:AssumeRole","Principal":"*"}]}')
    assert result["json"].startswith('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n')
    assert policy_document({})["minifiedJson"] == '{"Version":"2012-10-17"}'


@pytest.mark.parametrize("args, expected", [
    ({"statements": [{"sid": "A", "actions": ["s3:GetObject"]}, {"sid": "A", "actions": ["s3:PutObject"]}]},
     "duplicate Sid (A)"),
    ({"version": "2008-10-17", "statements": [{"resources": ["arn:aws:s3:::b/&{aws:username}"]}]},
     "not supported in document version 2008-10-17"),
])
def test_policy_document_refuses_what_the_provider_refuses(args, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        policy_document(args)
