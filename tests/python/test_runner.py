"""`runbook run`: the headless runner, against moto and the local Slack endpoint."""

import json
import re
import os
import signal
import subprocess
import time

import nbformat
import pytest

from nbtools import audit, make_notebook, results, runbook
from support import ROOT, runbook_bin

SEED = ROOT / "notebooks" / "create_iam_user.ipynb"
CALLER_ARN = "arn:aws:sts::123456789012:user/moto"


def test_seed_runbook_runs_headless_and_writes_a_valid_output_notebook(tmp_path, aws, slack):
    out = tmp_path / "out.ipynb"
    r = runbook("run", SEED, "-p", "user_name=alice", "-p", "policy=ReadOnlyAccess", "-o", out)
    assert r.returncode == 0, r.stderr
    iam = aws.iam()
    assert iam.get_user(UserName="alice")["User"]["UserName"] == "alice"
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]] == ["ReadOnlyAccess"]
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["UserName"] == "alice"
    assert slack.messages() == [{"channel": "#devops", "text": f"New IAM user alice added by {CALLER_ARN} with Access Policy ReadOnlyAccess"}]
    nb = nbformat.read(str(out), as_version=4)
    nbformat.validate(nb)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
    assert nb.metadata.papermill.parameters == {"user_name": "alice", "policy": "ReadOnlyAccess"}
    assert all(c.metadata.papermill.status == "completed" for c in nb.cells if c.cell_type == "code")
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and injected[0].source.startswith("%%values")
    # Progress and the summary table on stderr.
    assert "[3/7] cell 6 %%action aws.sts.get_caller_identity" in r.stderr
    assert "→ aws.iam.create_user" in r.stderr
    assert re.search(r"aws\.iam\.attach_user_policy +ok +yes", r.stderr), r.stderr
    # No password anywhere in the output notebook or on the terminal.
    password = aws.password_of("alice")
    assert password not in out.read_text() and password not in r.stderr + r.stdout


def test_default_output_is_next_to_the_input(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "simple.ipynb", ["1 + 1"])
    r = runbook("run", nb)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "simple.out.ipynb").exists()


TYPED = """count: #{ type: "int", value: 1 }
enabled: #{ type: "bool", value: true }
tags: #{ type: "map", value: #{} }
names: #{ type: "list", value: [] }
ratio: #{ type: "float", value: 0.5 }
env: #{ type: "string", value: "dev", allowed: ["dev", "prod"] }"""


def test_parameters_are_typed_by_the_declaration(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "typed.ipynb", ['`${type_of(count)}:${count} ${type_of(enabled)}:${enabled} ${tags.team} ${names.len()} ${type_of(ratio)} ${env}`'], params=TYPED)
    out = tmp_path / "o.ipynb"
    r = runbook("run", nb, "-o", out, "-p", "count=3", "-p", "enabled=false", "-p", 'tags={"team":"x"}',
                "-p", 'names=["a","b"]', "-p", "ratio=2", "-p", "env=prod")
    assert r.returncode == 0, r.stderr
    assert list(results(nbformat.read(str(out), as_version=4)).values()) == ['"i64:3 bool:false x 2 f64 prod"']


def test_params_file_yaml_and_cli_override(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "typed.ipynb", ['`${count} ${tags.team}`'], params=TYPED)
    f = tmp_path / "p.yaml"
    f.write_text("count: 5\ntags:\n  team: sre\n")
    out = tmp_path / "o.ipynb"
    r = runbook("run", nb, "-o", out, "-f", f, "-p", "count=6")
    assert r.returncode == 0, r.stderr
    assert list(results(nbformat.read(str(out), as_version=4)).values()) == ['"6 sre"']


@pytest.mark.parametrize("args, message", [
    (["-p", "count=three"], "parameter `count` must be a int"),
    (["-p", "nope=1"], "unknown parameter `nope`"),
    (["-p", "env=qa"], 'parameter `env` must be one of ["dev","prod"]'),
    (["-p", "enabled=yes"], "is not true or false"),
    (["-p", "count"], "write parameters as -p NAME=VALUE"),
])
def test_bad_parameters_exit_2_before_any_cell_runs(tmp_path, aws, slack, args, message):
    nb = make_notebook(tmp_path / "typed.ipynb", ['sts::get_caller_identity()'], params=TYPED)
    before = len(audit())
    r = runbook("run", nb, *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "[1/" not in r.stderr  # no cell ran
    assert len(audit()) == before


def test_missing_required_parameter_exits_2(tmp_path, aws, slack):
    r = runbook("run", SEED)
    assert r.returncode == 2
    assert "required parameter `user_name` has no value" in r.stderr
    assert "-p user_name=VALUE" in r.stderr
    assert aws.iam().list_users()["Users"] == []


def test_failing_cell_exits_1_shows_cell_and_line_and_stops(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "f.ipynb", ["let a = 1;", "let b = a +\n  missing;", "let c = 3;"])
    out = tmp_path / "o.ipynb"
    r = runbook("run", nb, "-o", out)
    assert r.returncode == 1
    assert "error in cell 2" in r.stderr
    assert "missing" in r.stderr and "2 |   missing;" in r.stderr
    saved = nbformat.read(str(out), as_version=4)
    nbformat.validate(saved)
    assert saved.cells[1].outputs[0].output_type == "error"
    assert saved.cells[2].execution_count is None
    assert saved.cells[2].metadata.papermill.status == "pending"
    assert saved.metadata.papermill.exception is True


def test_raises_exception_tag_lets_a_cell_fail(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "f.ipynb", [('throw "expected";', ["raises-exception"]), "40 + 2", ("md", "# note")])
    out = tmp_path / "o.ipynb"
    r = runbook("run", nb, "-o", out)
    assert r.returncode == 0, r.stderr
    assert list(results(nbformat.read(str(out), as_version=4)).values()) == ["42"]
    assert "failed (allowed)" in r.stderr


def test_json_summary(tmp_path, aws, slack):
    out = tmp_path / "o.ipynb"
    r = runbook("run", SEED, "-p", "user_name=jay", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["status"] == "succeeded" and s["exit_code"] == 0 and s["dry_run"] is False
    assert s["parameters"] == {"user_name": "jay"}
    actions = [(c["action"], c["status"], c["changed"]) for c in s["cells"]]
    assert ("aws.iam.create_user", "ok", True) in actions
    assert ("aws.sts.get_caller_identity", "ok", None) in actions
    assert s["output"] == str(out)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_the_cell_writes_the_notebook_and_exits_130(tmp_path, aws, slack, sig):
    nb = make_notebook(tmp_path / "loop.ipynb", ["let n = 0;", "loop { n += 1; }", "n"])
    out = tmp_path / "o.ipynb"
    proc = subprocess.Popen([str(runbook_bin()), "run", str(nb), "-o", str(out)], stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 130
    saved = nbformat.read(str(out), as_version=4)
    assert saved.cells[1].outputs[0].ename == "Interrupted"
    assert saved.cells[2].metadata.papermill.status == "pending"


def test_secret_parameters_are_masked_in_the_output_notebook(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "s.ipynb", ["print(token); reveal(token).len()"], params='token: #{ type: "string", secret: true }')
    out = tmp_path / "o.ipynb"
    r = runbook("run", nb, "-o", out, "-p", "token=hunter2-very-secret", "--json")
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "hunter2-very-secret" not in text and "hunter2-very-secret" not in r.stdout + r.stderr
    assert list(results(nbformat.read(str(out), as_version=4)).values()) == [str(len("hunter2-very-secret"))]
    assert json.loads(r.stdout)["parameters"] == {"token": "********"}


def test_an_unwritable_output_path_exits_2_before_anything_runs(tmp_path, aws, slack):
    r = runbook("run", SEED, "-p", "user_name=alice", "-o", tmp_path / "no" / "such" / "out.ipynb")
    assert r.returncode == 2
    assert "cannot write the output notebook" in r.stderr and "Nothing was run" in r.stderr
    assert aws.iam().list_users()["Users"] == []
