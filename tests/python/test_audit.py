"""The audit trail: every action call, in `runbook run` and in the kernel, real or
planned, recorded in SQLite before it starts and when it ends."""

import hashlib
import json
import os
import signal
import subprocess
import time

from jupyter_client.manager import start_new_kernel

from nbtools import audit, make_notebook, runbook
from support import ROOT, runbook_bin

SEED = ROOT / "notebooks" / "create_iam_user.ipynb"
CALLER_ARN = "arn:aws:sts::123456789012:user/moto"


def test_a_run_is_recorded_call_by_call(tmp_path, aws, slack):
    r = runbook("run", SEED, "-p", "user_name=alice", "--json", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    records = audit(run_id)
    assert [(x["action"], x["status"], x["mode"]) for x in records] == [
        ("aws.sts.get_caller_identity", "ok", "apply"),
        ("aws.iam.create_user", "changed", "apply"),
        ("aws.iam.create_login_profile", "changed", "apply"),
        ("aws.iam.attach_user_policy", "changed", "apply"),
        ("slack.post_message", "changed", "apply"),
    ]
    first, create = records[0], records[1]
    assert first["caller_arn"] == CALLER_ARN  # learned from this very call
    assert create["caller_arn"] == CALLER_ARN
    assert create["inputs"] == {"user_name": "alice", "tags": {"created-by": "runbook"}}
    assert create["parameters"] == {"user_name": "alice", "policy": "IAMUserChangePassword", "slack_channel": "#devops"}
    assert create["notebook_path"] == str(SEED)
    assert create["notebook_hash"] == hashlib.sha256(SEED.read_bytes()).hexdigest()
    assert create["os_user"]
    assert all(x["ended_at"] and x["duration_ms"] is not None for x in records)
    # Nothing secret in the log: the generated password is not there.
    dump = json.dumps(records)
    assert aws.password_of("alice") not in dump


def test_errors_and_plans_are_recorded(tmp_path, aws, slack):
    r = runbook("run", SEED, "-p", "user_name=bea", "-p", "policy=NoSuchPolicyXYZ", "--json", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 1
    failed = [x for x in audit(json.loads(r.stdout)["run_id"]) if x["status"] == "error"]
    assert [(x["action"], x["error_code"]) for x in failed] == [("aws.iam.attach_user_policy", "NoSuchEntity")]
    r = runbook("run", SEED, "-p", "user_name=cy", "--dry-run", "--json", "-o", tmp_path / "p.ipynb")
    planned = audit(json.loads(r.stdout)["run_id"])
    assert {x["status"] for x in planned if x["mutates"]} == {"planned"}
    assert {x["mode"] for x in planned} == {"plan"}


def test_secret_inputs_are_masked(tmp_path, aws, slack):
    aws.iam().create_user(UserName="dee")
    nb = make_notebook(tmp_path / "s.ipynb", ['%%action aws.iam.create_login_profile\nuser_name: "dee"\npassword: "Sup3r-Secret-Passw0rd!"'])
    r = runbook("run", nb, "--json", "-o", tmp_path / "o.ipynb")
    assert r.returncode == 0, r.stderr
    rec = audit(json.loads(r.stdout)["run_id"])[0]
    assert rec["inputs"]["password"] == "********"
    assert "Sup3r-Secret" not in json.dumps(rec)


def test_a_crash_mid_call_leaves_the_call_marked_started(tmp_path, aws, slack):
    slack.delay = 30
    nb = make_notebook(tmp_path / "c.ipynb", [
        "sts::get_caller_identity()",
        '%%action slack.post_message\nchannel: "#ops"\ntext: "hanging"',
    ])
    proc = subprocess.Popen([str(runbook_bin()), "run", str(nb), "-o", str(tmp_path / "o.ipynb")],
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while not slack.requests and time.time() < deadline:
        time.sleep(0.05)
    assert slack.requests, "the Slack call never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    records = [x for x in audit() if x["notebook_path"] == str(nb)]
    assert [(x["action"], x["status"]) for x in records] == [
        ("aws.sts.get_caller_identity", "ok"),
        ("slack.post_message", "started"),
    ]
    assert records[1]["ended_at"] is None


def test_kernel_calls_are_audited_with_the_notebook_name(aws, slack):
    env = dict(os.environ, JPY_SESSION_NAME="work/onboarding.ipynb")
    km, kc = start_new_kernel(kernel_name="runbook", env=env)
    try:
        kc.execute_interactive('iam::create_user(#{ user_name: "eve" })', timeout=30)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    recs = [x for x in audit(None, "--action", "aws.iam.create_user") if x["inputs"].get("user_name") == "eve"]
    assert len(recs) == 1
    assert recs[0]["notebook_path"] == "work/onboarding.ipynb" and recs[0]["status"] == "changed"


def test_filters_and_table(tmp_path, aws, slack):
    r = runbook("run", SEED, "-p", "user_name=fay", "--json", "-o", tmp_path / "o.ipynb")
    run_id = json.loads(r.stdout)["run_id"]
    me = audit(run_id)[0]["os_user"]
    assert len(audit(run_id, "--user", me, "--action", "slack.post_message")) == 1
    assert audit(run_id, "--user", "somebody-else") == []
    assert audit(run_id, "--since", "2999-01-01") == []
    assert len(audit(run_id, "--since", "1h")) == 5
    table = runbook("audit", "--run", run_id)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["started", "user", "action", "mode", "outcome", "duration", "run"]
    assert len(lines) == 6 and "aws.iam.create_user" in lines[2] and "changed" in lines[2]
    bad = runbook("audit", "--since", "yesterday")
    assert bad.returncode != 0 and "--since yesterday" in bad.stderr


def test_an_unwritable_audit_log_stops_actions_but_not_the_kernel(aws, slack):
    env = dict(os.environ, RUNBOOK_AUDIT_DB="/proc/no/such/dir/audit.db")
    km, kc = start_new_kernel(kernel_name="runbook", env=env)
    try:
        outs = []
        reply = kc.execute_interactive('iam::create_user(#{ user_name: "zoe" })', timeout=30, output_hook=outs.append)
        assert reply["content"]["status"] == "error"
        assert "`aws.iam.create_user` was not called: cannot" in reply["content"]["evalue"]
        assert "RUNBOOK_AUDIT_DB" in reply["content"]["evalue"]
        assert aws.iam().list_users()["Users"] == []
        assert kc.execute_interactive("1 + 1", timeout=10)["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_audit_filters_by_target_user_short_run_id_and_short_action(tmp_path, aws, slack):
    db = tmp_path / "audit.sqlite3"
    r = runbook("run", SEED, "-p", "user_name=alice", "--json", "-o", tmp_path / "a.ipynb", "--audit-db", db)
    assert r.returncode == 0, r.stderr
    run_id = json.loads(r.stdout)["run_id"]
    assert runbook("run", SEED, "-p", "user_name=bob", "-o", tmp_path / "b.ipynb", "--audit-db", db).returncode == 0

    def query(*args):
        r = runbook("audit", "--json", "--audit-db", db, *args)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    about_alice = query("--target", "alice")
    assert {x["run_id"] for x in about_alice} == {run_id}
    assert [x["action"] for x in about_alice] == [
        "aws.iam.create_user", "aws.iam.create_login_profile", "aws.iam.attach_user_policy"]
    assert [x["action"] for x in query("--run", run_id[:8], "--action", "create_user")] == ["aws.iam.create_user"]


def test_reading_a_missing_audit_log_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "audit.sqlite3"
    r = runbook("audit", "--audit-db", missing)
    assert r.returncode == 1
    assert f"no audit log at {missing}" in r.stderr
    assert not missing.parent.exists()
    r = runbook("audit", "--since", "99999999999d")
    assert r.returncode == 1 and "--since 99999999999d reaches too far back" in r.stderr
