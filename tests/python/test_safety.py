"""Promises that are easy to break by accident: secrets stay secret even when a cell
passes one to the wrong input; parameter values stay data; a dry run stays a dry run;
declarations cannot act; a failing @for_each reports exactly what was done."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from nbtools import make_notebook, runbook
from support import ROOT, runbook_bin


@pytest.fixture
def kernel(aws, slack):
    km, kc = start_new_kernel(kernel_name="runbook")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code):
    outs = []
    reply = kc.execute_interactive(code, timeout=60, output_hook=outs.append)["content"]
    res = [o["content"]["data"] for o in outs if o["msg_type"] == "execute_result"]
    return reply, res


def users(aws):
    return sorted(u["UserName"] for u in aws.iam().list_users()["Users"])


# --- secrets ----------------------------------------------------------------------------

def test_a_secret_is_refused_by_an_input_that_is_not_secret(kernel, aws, slack):
    aws.iam().create_user(UserName="ann")
    assert run(kernel, '%%action aws.iam.create_login_profile -> login\nuser_name: "ann"')[0]["status"] == "ok"
    password = aws.password_of("ann")
    reply, _ = run(kernel, '%%action slack.post_message\nchannel: "#ops"\ntext: login.password')
    assert reply["status"] == "error"
    assert reply["evalue"].startswith(
        "input `text` of `slack.post_message` is not a secret input, but its value holds a secret")
    assert password not in json.dumps(reply)
    reply, _ = run(kernel, 'iam::tag_user(#{ user_name: "ann", tags: #{ note: login.password } })')
    assert reply["status"] == "error" and "input `tags` of `aws.iam.tag_user` is not a secret input" in reply["evalue"]
    assert aws.iam().list_user_tags(UserName="ann")["Tags"] == []
    assert slack.messages() == []
    # An explicit reveal() is the documented way to send the text on purpose.
    reply, _ = run(kernel, '%%action slack.post_message\nchannel: "#ops"\ntext: reveal(login.password)')
    assert reply["status"] == "ok"
    assert slack.messages()[0]["text"] == password


def test_a_secret_parameter_cannot_leak_through_runbook_run(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "leak.ipynb", [
        "%%action aws.sts.get_caller_identity",
        '%%action slack.post_message\nchannel: "#ops"\ntext: token',
    ], params='token: #{ type: "string", secret: true }')
    out = tmp_path / "out.ipynb"
    db = tmp_path / "audit.sqlite3"
    r = runbook("run", nb, "-p", "token=Tok3n-S3cr3t-XYZZY", "--json", "-o", out, "--audit-db", db)
    assert r.returncode == 1
    assert "is not a secret input" in r.stderr
    assert slack.messages() == []
    for text in (r.stdout, r.stderr, out.read_text()):
        assert "Tok3n-S3cr3t-XYZZY" not in text
    with sqlite3.connect(db) as con:
        assert "Tok3n-S3cr3t-XYZZY" not in json.dumps(con.execute("select * from calls").fetchall())


def test_only_string_parameters_can_be_secret(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "p.ipynb", ["pin"], params='pin: #{ type: "int", secret: true }')
    r = runbook("run", nb, "-p", "pin=987654", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 2
    assert "parameter `pin`: only string parameters can be secret" in r.stderr
    assert "987654" not in r.stderr


# --- papermill and secrets ------------------------------------------------------------------

SECRET_NB_PARAMS = 'token: #{ type: "string", secret: true }'


def papermill(nb, out, *args, env=None):
    return subprocess.run([sys.executable, "-m", "papermill", str(nb), str(out), "-k", "runbook", *args],
                          capture_output=True, text=True, env=env or os.environ.copy(), timeout=180)


def test_papermill_secret_values_are_refused_and_the_environment_is_the_way(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "s.ipynb", ["print(token); reveal(token).len()"], params=SECRET_NB_PARAMS)
    r = papermill(nb, tmp_path / "o1.ipynb", "-p", "token", "TOPSECRET-PM")
    assert r.returncode != 0
    assert "`token` is a secret parameter, but its value was written into the notebook" in r.stderr
    assert "RUNBOOK_SECRET_TOKEN" in r.stderr
    # Without -p, the kernel reads RUNBOOK_SECRET_TOKEN; the value is never in the notebook.
    out = tmp_path / "o2.ipynb"
    r = papermill(nb, out, env=dict(os.environ, RUNBOOK_SECRET_TOKEN="TOPSECRET-ENV"))
    assert r.returncode == 0, r.stderr
    saved = out.read_text()
    assert "TOPSECRET-ENV" not in saved
    cell = nbformat.read(str(out), as_version=4).cells[-1]
    assert [o.get("text") for o in cell.outputs if o.output_type == "stream"] == ["********\n"]
    assert [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"] == ["13"]


def test_a_missing_secret_parameter_says_how_to_pass_it_safely(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "s.ipynb", ["token"], params=SECRET_NB_PARAMS)
    r = papermill(nb, tmp_path / "o.ipynb")
    assert r.returncode != 0
    assert "required secret parameter `token` has no value. Set the environment variable RUNBOOK_SECRET_TOKEN" in r.stderr


# --- parameter values are data --------------------------------------------------------------

def test_parse_json_only_parses_json(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "pj.ipynb", ["let t = parse_json(tags_json); t"], params='tags_json: #{ type: "string" }')
    hostile = '{"team": iam::create_user({"user_name": "pwned"}).user_name}'
    r = runbook("run", nb, "-p", f"tags_json={hostile}", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 1
    assert "parse_json: not valid JSON" in r.stderr
    assert users(aws) == []
    r = runbook("run", nb, "-p", 'tags_json={"team": "sre", "n": [1, 2]}', "--json", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 0, r.stderr
    result = nbformat.read(str(tmp_path / "o.ipynb"), as_version=4).cells[-1].outputs[0]
    assert result.data["application/json"] == {"team": "sre", "n": [1, 2]}


# --- dry runs and declarations cannot act -----------------------------------------------------

def test_a_dry_run_cannot_be_switched_off_from_a_cell(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "off.ipynb", [
        "%%plan off",
        '%%action aws.iam.create_user\nuser_name: "after_plan_off"',
    ])
    r = runbook("run", nb, "--dry-run", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 1
    assert "PlanError: this is a dry run (runbook run --dry-run): plan mode cannot be switched off" in r.stderr
    nb = make_notebook(tmp_path / "clear.ipynb", ['%%action aws.iam.create_user\nuser_name: "x"', "%%plan clear"])
    r = runbook("run", nb, "--dry-run", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 1 and "its plan cleared" in r.stderr
    assert users(aws) == []


def test_parameter_declarations_cannot_call_actions(tmp_path, aws, slack, kernel):
    decl = 'x: #{ type: "string", value: iam::create_user(#{ user_name: "from_decl" }).user_name }'
    nb = make_notebook(tmp_path / "d.ipynb", ["x"], params=decl)
    for extra in ([], ["--dry-run"]):
        r = runbook("run", nb, *extra, "-o", tmp_path / "o.ipynb")
        assert r.returncode == 2, r.stderr
        assert "actions cannot be called from a %%parameters cell" in r.stderr
    reply, _ = run(kernel, "%%parameters\n" + decl)
    assert reply["status"] == "error" and "actions cannot be called from a %%parameters cell" in reply["evalue"]
    assert users(aws) == []
    assert slack.requests == []
    # Calls work again after the declaration failed.
    assert run(kernel, 'iam::create_user(#{ user_name: "later" })')[0]["status"] == "ok"
    assert users(aws) == ["later"]


# --- @for_each reports exactly what happened -------------------------------------------------

def attached(aws, user):
    return sorted(p["PolicyName"] for p in aws.iam().list_attached_user_policies(UserName=user)["AttachedPolicies"])


def test_concurrent_for_each_failure_reports_what_really_happened(kernel, aws):
    aws.iam().create_user(UserName="cy")
    items = ["ReadOnlyAccess", "NoSuchOne", "IAMUserChangePassword", "AmazonS3ReadOnlyAccess"]
    reply, _ = run(kernel, "%%action aws.iam.attach_user_policy -> att\n"
                           f"@for_each: {json.dumps(items)}\n@item_input: policy\n@concurrency: 2\nuser_name: \"cy\"")
    assert reply["status"] == "error"
    m = re.search(r"failed for NoSuchOne: .*; succeeded for: \[(.*)\]; not run: \[(.*)\]$", reply["evalue"])
    assert m, reply["evalue"]
    succeeded = [s for s in m.group(1).split(", ") if s]
    not_run = [s for s in m.group(2).split(", ") if s]
    assert sorted(succeeded) == attached(aws, "cy")
    assert "ReadOnlyAccess" in succeeded and "NoSuchOne" not in succeeded
    assert sorted(succeeded + not_run + ["NoSuchOne"]) == sorted(items)


def test_for_each_items_must_be_distinct(kernel, aws):
    reply, _ = run(kernel, '%%action aws.iam.create_user\n@for_each: ["u1", "u1", "u2"]\n@item_input: user_name')
    assert reply["status"] == "error"
    assert "@for_each items must be distinct (results are keyed by item), but `u1` appears more than once" in reply["evalue"]
    assert users(aws) == []


# --- the kernel survives what a cell builds ----------------------------------------------------

def test_deeply_nested_values_do_not_kill_the_kernel(kernel):
    reply, _ = run(kernel, "let a = []; for i in 0..20000 { a = [a]; } a.len()")
    assert reply["status"] == "ok"
    reply, res = run(kernel, "a")
    assert reply["status"] == "ok"
    assert "nested more than 100 levels deep" in json.dumps(res[0]["application/json"])
    assert run(kernel, "40 + 2")[1][0]["text/plain"] == "42"


def test_silent_execution_publishes_nothing(kernel):
    msg_id = kernel.execute('print("loud"); display("shown"); 1', silent=True)
    reply = kernel.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "ok"
    published = []
    while True:
        msg = kernel.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        published.append(msg["msg_type"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert published == ["status", "status"]


def test_for_each_inputs_can_compute_from_scalar_items(kernel, aws):
    reply, res = run(kernel, '%%action aws.iam.create_user -> made\n@for_each: [1, 2]\nuser_name: `u${item}`')
    assert reply["status"] == "ok", reply
    assert users(aws) == ["u1", "u2"]
    assert sorted(res[0]["application/json"]) == ["1", "2"]
    reply, _ = run(kernel, '%%action aws.iam.create_user\n@for_each: [3]\nuser_name: "items"')
    assert reply["status"] == "error" and "or inputs that use `item`" in reply["evalue"]


# --- second round: what a fresh pair of eyes found ------------------------------------------

def test_a_declaration_cannot_turn_a_secret_into_plain_text(kernel, aws, slack):
    aws.iam().create_user(UserName="sec")
    assert run(kernel, '%%action aws.iam.create_login_profile -> login\nuser_name: "sec"')[0]["status"] == "ok"
    password = aws.password_of("sec")
    reply, _ = run(kernel, '%%parameters\nleak: #{ type: "string", value: login.password }')
    assert reply["status"] == "error"
    assert "parameter `leak`: a declaration cannot hold a secret value" in reply["evalue"]
    assert "RUNBOOK_SECRET_LEAK" in reply["evalue"]
    assert password not in json.dumps(reply)
    reply, _ = run(kernel, "leak")
    assert reply["status"] == "error" and password not in json.dumps(reply)


def test_only_a_parameters_declaration_is_read_ahead_of_the_run(tmp_path, aws, slack):
    # A tagged cell that is plain Rhai runs once, in order, like any other cell.
    nb = make_notebook(tmp_path / "t.ipynb", [
        ('slack::post_message(#{ channel: "#x", text: "from the tagged cell" }); let x = 1;', ["parameters"]),
        "x + 1",
    ])
    r = runbook("run", nb, "--dry-run", "-o", tmp_path / "p.ipynb")
    assert r.returncode == 0, r.stderr
    assert slack.messages() == []
    r = runbook("run", nb, "-o", tmp_path / "o.ipynb")
    assert r.returncode == 0, r.stderr
    assert [m["text"] for m in slack.messages()] == ["from the tagged cell"]


def test_ctrl_c_while_the_parameters_are_read_stops_the_run(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "slow.ipynb", ["a"],
                       params='a: #{ type: "string", value: { let i = 0; loop { i += 1; } "x" } }')
    proc = subprocess.Popen([str(runbook_bin()), "run", str(nb), "-o", str(tmp_path / "o.ipynb")],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert "interrupted while reading the parameters; nothing was run" in proc.stderr.read()


def test_an_output_path_that_is_a_directory_or_read_only_is_refused_before_anything_runs(tmp_path, aws, slack):
    nb = make_notebook(tmp_path / "c.ipynb", ['%%action aws.iam.create_user\nuser_name: "never"'])
    r = runbook("run", nb, "-o", tmp_path)
    assert r.returncode == 2 and "it is a directory" in r.stderr
    if os.geteuid() != 0:  # root may write anything
        ro = tmp_path / "ro.ipynb"
        ro.write_text("{}")
        ro.chmod(0o444)
        r = runbook("run", nb, "-o", ro)
        assert r.returncode == 2 and "cannot write the output notebook" in r.stderr
    assert users(aws) == []


def test_a_failing_silent_execute_aborts_nothing(kernel):
    kernel.execute('throw "background"', silent=True)
    first = kernel.get_shell_msg(timeout=30)
    assert first["content"]["status"] == "error"
    msg_id = kernel.execute("1 + 1")
    reply = kernel.get_shell_msg(timeout=30)
    assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "ok"


def test_audit_reads_without_writing(tmp_path, aws, slack):
    db = tmp_path / "audit.sqlite3"
    nb = make_notebook(tmp_path / "a.ipynb", ['%%action aws.iam.create_user\nuser_name: "Alice"'])
    assert runbook("run", nb, "-o", tmp_path / "o.ipynb", "--audit-db", db).returncode == 0
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("create table t (x)").connection.commit()
    before = other.read_bytes()
    r = runbook("audit", "--audit-db", other)
    assert r.returncode == 1 and "no such table: calls" in r.stderr
    assert other.read_bytes() == before and not (tmp_path / "other.sqlite3-wal").exists()
    r = runbook("audit", "--json", "--audit-db", db, "--target", "alice")
    assert r.returncode == 0, r.stderr
    assert [x["action"] for x in json.loads(r.stdout)] == ["aws.iam.create_user"]
