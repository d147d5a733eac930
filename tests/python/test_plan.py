"""Plan mode (dry run): in `runbook run --dry-run` and in the kernel (`%%plan on`).
moto must be unchanged afterwards; the plan lists exactly the mutating steps."""

import json

import nbformat
from jupyter_client.manager import start_new_kernel

from nbtools import make_notebook, runbook
from support import ROOT

SEED = ROOT / "notebooks" / "create_iam_user.ipynb"
CALLER_ARN = "arn:aws:sts::123456789012:user/moto"


def iam_state(aws):
    """The IAM part of moto's state that a runbook could change (users, profiles, attachments)."""
    iam = aws.iam()
    users = {}
    for u in iam.list_users()["Users"]:
        name = u["UserName"]
        users[name] = {
            "policies": sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]),
            "login_profile": _has_login_profile(iam, name),
        }
    return users


def _has_login_profile(iam, name):
    try:
        iam.get_login_profile(UserName=name)
        return True
    except iam.exceptions.NoSuchEntityException:
        return False


def test_dry_run_changes_nothing_and_plans_exactly_the_mutating_steps(tmp_path, aws, slack):
    before = iam_state(aws)
    r = runbook("run", SEED, "-p", "user_name=alice", "--dry-run", "--json", "-o", tmp_path / "plan.ipynb")
    assert r.returncode == 0, r.stderr
    assert iam_state(aws) == before == {}
    assert slack.requests == []
    plan = json.loads(r.stdout)["plan"]
    assert [(p["action"], p["inputs"]) for p in plan] == [
        ("aws.iam.create_user", {"user_name": "alice", "tags": {"created-by": "runbook"}}),
        ("aws.iam.create_login_profile", {"user_name": "alice", "password_reset_required": True}),
        ("aws.iam.attach_user_policy", {"user_name": "alice", "policy": "IAMUserChangePassword"}),
        ("slack.post_message", {"channel": "#devops",
                                "text": f"New IAM user alice added by {CALLER_ARN} with Access Policy IAMUserChangePassword"}),
    ]
    assert [p["change"] for p in plan][:3] == [
        "create user alice",
        "give alice console access with a generated password, reset required at first sign-in",
        "attach arn:aws:iam::aws:policy/IAMUserChangePassword to alice",
    ]
    assert all(p["changed"] for p in plan)
    # The plan is in the output notebook too, which is valid nbformat.
    nb = nbformat.read(str(tmp_path / "plan.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert len(nb.metadata.runbook.plan) == 4


def test_dry_run_terminal_shows_an_aligned_plan_table(tmp_path, aws, slack):
    r = runbook("run", SEED, "-p", "user_name=alice", "--dry-run", "-o", tmp_path / "plan.ipynb")
    assert r.returncode == 0, r.stderr
    assert "Plan (nothing was changed):" in r.stderr
    assert "1  aws.iam.create_user           create user alice" in r.stderr
    assert "   ↳ GetUser alice: does not exist" in r.stderr


def test_dry_run_for_an_existing_user_says_so(tmp_path, aws, slack):
    iam = aws.iam()
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Xx1!xxxxxxxxxxxxxxxx")
    iam.attach_user_policy(UserName="bob", PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
    before = iam_state(aws)
    r = runbook("run", SEED, "-p", "user_name=bob", "--dry-run", "--json", "-o", tmp_path / "plan.ipynb")
    assert r.returncode == 0, r.stderr
    assert iam_state(aws) == before
    plan = {p["action"]: p for p in json.loads(r.stdout)["plan"]}
    assert plan["aws.iam.create_user"]["changed"] is False
    assert plan["aws.iam.create_user"]["change"].startswith("none: user bob already exists")
    assert plan["aws.iam.create_login_profile"]["change"].startswith("none: bob already has a login profile")
    assert plan["aws.iam.attach_user_policy"]["change"] == "none: arn:aws:iam::aws:policy/IAMUserChangePassword is already attached to bob"


def test_dry_run_that_predicts_a_failure_exits_3(tmp_path, aws, slack):
    r = runbook("run", SEED, "-p", "user_name=carl", "-p", "policy=NoSuchPolicyXYZ", "--dry-run", "--json", "-o", tmp_path / "p.ipynb")
    assert r.returncode == 3, r.stderr
    summary = json.loads(r.stdout)
    assert summary["status"] == "would fail" and summary["exit_code"] == 3
    plan = {p["action"]: p for p in summary["plan"]}
    assert plan["aws.iam.attach_user_policy"]["would_fail"] == (
        "policy arn:aws:iam::aws:policy/NoSuchPolicyXYZ does not exist (AttachUserPolicy would fail with NoSuchEntity)")
    assert plan["aws.iam.create_user"]["would_fail"] is None
    assert aws.iam().list_users()["Users"] == []


def test_dry_run_names_every_step_that_would_fail(tmp_path, aws, slack, monkeypatch):
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    r = runbook("run", SEED, "-p", "user_name=carl", "-p", "policy=AdministratorAccess", "--dry-run", "-o", tmp_path / "p.ipynb")
    assert r.returncode == 3, r.stderr
    assert "   ↳ WOULD FAIL: refused by the policy guard: AdministratorAccess is on the deny list" in r.stderr
    assert "   ↳ WOULD FAIL: SLACK_BOT_TOKEN is not set (Slack is not configured)" in r.stderr
    assert "2 of 4 planned steps would fail: #3 aws.iam.attach_user_policy, #4 slack.post_message" in r.stderr
    assert "would fail in" in r.stderr


def test_plan_mode_in_the_kernel(aws, slack):
    km, kc = start_new_kernel(kernel_name="runbook")
    try:
        def run(code):
            outs = []
            reply = kc.execute_interactive(code, timeout=60, output_hook=outs.append)
            return reply["content"], outs

        assert run("%%plan on")[0]["status"] == "ok"
        content, outs = run('%%action aws.iam.create_user -> u\nuser_name: "dana"')
        assert content["status"] == "ok"
        shown = [o["content"]["data"]["application/json"] for o in outs if o["msg_type"] == "execute_result"][0]
        assert shown["planned"] is True and shown["user_name"] == "dana"
        # Later cells keep working on the planned value.
        content, outs = run('%%action aws.iam.attach_user_policy\nuser_name: u.user_name\npolicy: "ReadOnlyAccess"')
        assert content["status"] == "ok"
        content, outs = run("%%plan")
        data = [o["content"]["data"] for o in outs if o["msg_type"] == "display_data"][0]
        assert [p["action"] for p in data["application/json"]] == ["aws.iam.create_user", "aws.iam.attach_user_policy"]
        assert "<table>" in data["text/html"] and "create user dana" in data["text/plain"]
        assert aws.iam().list_users()["Users"] == []
        run("%%plan off")
        assert run('%%action aws.iam.create_user -> u\nuser_name: "dana"')[0]["status"] == "ok"
        assert [u["UserName"] for u in aws.iam().list_users()["Users"]] == ["dana"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_dry_run_of_detach_and_inline_delete_checks_what_is_there(tmp_path, aws, slack):
    iam = aws.iam()
    iam.create_user(UserName="dee")
    iam.attach_user_policy(UserName="dee", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_user_policy(UserName="dee", PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    nb = make_notebook(tmp_path / "d.ipynb", [
        '%%action aws.iam.detach_user_policy\nuser_name: "dee"\npolicy: "ReadOnlyAccess"',
        '%%action aws.iam.detach_user_policy\nuser_name: "dee"\npolicy: "IAMUserChangePassword"',
        '%%action aws.iam.delete_user_policy\nuser_name: "dee"\npolicy_name: "inline"',
        '%%action aws.iam.delete_user_policy\nuser_name: "dee"\npolicy_name: "other"',
    ])
    r = runbook("run", nb, "--dry-run", "--json", "-o", tmp_path / "p.ipynb")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)["plan"]
    assert [(p["change"], p["changed"]) for p in plan] == [
        ("detach arn:aws:iam::aws:policy/ReadOnlyAccess from dee", True),
        ("none: arn:aws:iam::aws:policy/IAMUserChangePassword is not attached to dee", False),
        ("delete dee's inline policy inline", True),
        ("none: dee has no inline policy other", False),
    ]
    assert iam.list_attached_user_policies(UserName="dee")["AttachedPolicies"][0]["PolicyName"] == "ReadOnlyAccess"
    assert iam.list_user_policies(UserName="dee")["PolicyNames"] == ["inline"]


def test_dry_rerun_of_the_seed_plans_no_second_announcement(tmp_path, aws, slack):
    assert runbook("run", SEED, "-p", "user_name=ned", "-o", tmp_path / "1.ipynb").returncode == 0
    r = runbook("run", SEED, "-p", "user_name=ned", "--dry-run", "--json", "-o", tmp_path / "p.ipynb")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [p["action"] for p in summary["plan"]] == [
        "aws.iam.create_user", "aws.iam.create_login_profile", "aws.iam.attach_user_policy"]
    assert {c["action"]: c["status"] for c in summary["cells"]}["slack.post_message"] == "skipped"
