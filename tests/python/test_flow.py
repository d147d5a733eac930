"""Action-cell control flow: @when, @for_each (+ @item_input, @concurrency) and
@continue_on_error, in the kernel and in `runbook run`."""

import json

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from nbtools import make_notebook, results, runbook

SKIP = '%%action aws.iam.create_user -> made\n@when: create\nuser_name: "skipper"'
EACH = '%%action aws.iam.create_user -> made\n@for_each: ["u1", "u2", "u3"]\n@item_input: user_name\n@concurrency: 3\ntags: #{ batch: "b" + item }'
EACH_MAPS = '%%action aws.iam.attach_user_policy -> att\n@for_each: [#{ user_name: "u1", policy: "ReadOnlyAccess" }, #{ user_name: "u2", policy: "IAMUserChangePassword" }]\n@item_input: user_name'
FAIL_STOP = '%%action aws.iam.create_user -> made\n@for_each: ["v1", "dup", "v3"]\n@item_input: user_name\nfail_if_exists: true'
FAIL_GO = '%%action aws.iam.create_user -> made2\n@for_each: ["w1", "dup", "w3"]\n@item_input: user_name\n@continue_on_error\nfail_if_exists: true'


@pytest.fixture
def kernel(aws, slack):
    km, kc = start_new_kernel(kernel_name="runbook")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code):
    outs = []
    reply = kc.execute_interactive(code, timeout=60, output_hook=outs.append)
    res = [o["content"]["data"] for o in outs if o["msg_type"] == "execute_result"]
    err = [o["content"] for o in outs if o["msg_type"] == "error"]
    return reply["content"]["status"], res, err


def users(aws):
    return sorted(u["UserName"] for u in aws.iam().list_users()["Users"])


def test_when_false_skips_and_true_runs(kernel, aws):
    run(kernel, "let create = false;")
    status, res, _ = run(kernel, SKIP)
    assert status == "ok"
    assert res[0]["application/json"] == {"skipped": True, "reason": "@when create is false"}
    assert users(aws) == []
    run(kernel, "create = true;")
    assert run(kernel, SKIP)[0] == "ok"
    assert users(aws) == ["skipper"]


def test_when_must_be_a_bool(kernel, aws):
    status, _, err = run(kernel, '%%action aws.iam.create_user\n@when: "yes"\nuser_name: "x"')
    assert status == "error" and "@when must be true or false" in err[0]["evalue"]


def test_for_each_runs_once_per_item_keyed_by_item(kernel, aws):
    status, res, _ = run(kernel, EACH)
    assert status == "ok"
    made = res[0]["application/json"]
    assert sorted(made) == ["u1", "u2", "u3"]
    assert made["u2"]["user_name"] == "u2"
    assert users(aws) == ["u1", "u2", "u3"]
    tags = aws.iam().list_user_tags(UserName="u3")["Tags"]
    assert tags == [{"Key": "batch", "Value": "bu3"}]
    status, res, _ = run(kernel, EACH_MAPS)
    assert status == "ok"
    attached = aws.iam().list_attached_user_policies(UserName="u2")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["IAMUserChangePassword"]
    assert sorted(res[0]["application/json"]) == ["u1", "u2"]


def test_for_each_stops_at_first_failure_and_reports_what_is_left(kernel, aws):
    aws.iam().create_user(UserName="dup")
    status, _, err = run(kernel, FAIL_STOP)
    assert status == "error"
    evalue = err[0]["evalue"]
    assert "dup: CreateUser failed: EntityAlreadyExists" in evalue
    assert "succeeded for: [v1]" in evalue and "not run: [v3]" in evalue
    assert users(aws) == ["dup", "v1"]


def test_continue_on_error_records_the_error_and_carries_on(kernel, aws):
    aws.iam().create_user(UserName="dup")
    status, res, _ = run(kernel, FAIL_GO)
    assert status == "ok"
    made = res[0]["application/json"]
    assert made["dup"]["code"] == "EntityAlreadyExists"
    assert made["w3"]["user_name"] == "w3"
    assert users(aws) == ["dup", "w1", "w3"]
    status, res, _ = run(kernel, '%%action aws.iam.attach_user_policy -> r\n@continue_on_error\nuser_name: "nobody"\npolicy: "ReadOnlyAccess"')
    assert status == "ok" and res[0]["application/json"]["code"] == "NoSuchEntity"
    assert run(kernel, "r.code")[1][0]["text/plain"] == '"NoSuchEntity"'


def test_unknown_option_is_a_clear_error(kernel, aws):
    status, _, err = run(kernel, '%%action aws.iam.create_user\n@retry: 3\nuser_name: "x"')
    assert status == "error" and "unknown option `@retry`" in err[0]["evalue"]
    assert users(aws) == []


def test_control_flow_in_runbook_run(tmp_path, aws, slack):
    aws.iam().create_user(UserName="dup")
    nb = make_notebook(tmp_path / "flow.ipynb", ["let create = false;", SKIP, EACH, FAIL_GO, FAIL_STOP, "1"])
    out = tmp_path / "o.ipynb"
    r = runbook("run", nb, "-o", out, "--json")
    assert r.returncode == 1
    cells = json.loads(r.stdout)["cells"]
    assert [c["status"] for c in cells] == ["ok", "skipped", "ok", "continued (1 errors)", "failed", "not run"]
    assert cells[2]["changed"] is True
    assert users(aws) == ["dup", "u1", "u2", "u3", "v1", "w1", "w3"]
    saved = nbformat.read(str(out), as_version=4)
    assert json.loads(results(saved)[1]) == {"skipped": True, "reason": "@when create is false"}
