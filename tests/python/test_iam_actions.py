"""The IAM actions one by one against moto: idempotent results (`changed`), secrets,
transient-failure retries, and the least-privilege guard."""

import json
import os
import re

import pytest
from jupyter_client.manager import start_new_kernel

from nbtools import make_notebook, runbook
from support import ROOT

UPDATE = ROOT / "notebooks" / "update_user_permissions.ipynb"
SEED = ROOT / "notebooks" / "create_iam_user.ipynb"
CALLER_ARN = "arn:aws:sts::123456789012:user/moto"
ADMIN_LIKE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def start(env=None):
    km, kc = start_new_kernel(kernel_name="runbook", env=env or dict(os.environ))
    return km, kc


@pytest.fixture
def kernel(aws, slack):
    km, kc = start()
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def call(kc, code):
    outs = []
    reply = kc.execute_interactive(code, timeout=60, output_hook=outs.append)["content"]
    res = [o["content"]["data"] for o in outs if o["msg_type"] == "execute_result"]
    if reply["status"] != "ok":
        return None, reply["evalue"]
    data = res[0] if res else {}
    return data.get("application/json", data.get("text/plain")), None


def test_mutating_actions_report_changed_and_are_idempotent(kernel, aws):
    iam = aws.iam()
    iam.create_group(GroupName="devs")
    first, _ = call(kernel, 'iam::create_user(#{ user_name: "ida" })')
    again, _ = call(kernel, 'iam::create_user(#{ user_name: "ida" })')
    assert first["changed"] is True and again["changed"] is False and again["arn"] == first["arn"]
    _, err = call(kernel, 'iam::create_user(#{ user_name: "ida", fail_if_exists: true })')
    assert err.startswith("aws.iam.create_user: CreateUser failed: EntityAlreadyExists")
    steps = [
        ('iam::attach_user_policy(#{ user_name: "ida", policy: "ReadOnlyAccess" })', True),
        ('iam::attach_user_policy(#{ user_name: "ida", policy: "ReadOnlyAccess" })', False),
        ('iam::add_user_to_group(#{ user_name: "ida", group_name: "devs" })', True),
        ('iam::add_user_to_group(#{ user_name: "ida", group_name: "devs" })', False),
        ('iam::tag_user(#{ user_name: "ida", tags: #{ team: "sre" } })', True),
        ('iam::tag_user(#{ user_name: "ida", tags: #{ team: "sre" } })', False),
        ('iam::untag_user(#{ user_name: "ida", keys: ["team"] })', True),
        ('iam::untag_user(#{ user_name: "ida", keys: ["team"] })', False),
        ('iam::put_user_policy(#{ user_name: "ida", policy_name: "p", policy_document: #{ Version: "2012-10-17", Statement: [#{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] } })', True),
        ('iam::put_user_policy(#{ user_name: "ida", policy_name: "p", policy_document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}` })', False),
        ('iam::delete_user_policy(#{ user_name: "ida", policy_name: "p" })', True),
        ('iam::delete_user_policy(#{ user_name: "ida", policy_name: "p" })', False),
        ('iam::remove_user_from_group(#{ user_name: "ida", group_name: "devs" })', True),
        ('iam::remove_user_from_group(#{ user_name: "ida", group_name: "devs" })', False),
        ('iam::detach_user_policy(#{ user_name: "ida", policy: "ReadOnlyAccess" })', True),
        ('iam::detach_user_policy(#{ user_name: "ida", policy: "ReadOnlyAccess" })', False),
        ('iam::create_login_profile(#{ user_name: "ida" })', True),
        ('iam::create_login_profile(#{ user_name: "ida" })', False),
        ('iam::delete_login_profile(#{ user_name: "ida" })', True),
        ('iam::delete_login_profile(#{ user_name: "ida" })', False),
    ]
    for code, changed in steps:
        out, err = call(kernel, code)
        assert err is None, (code, err)
        assert out["changed"] is changed, (code, out)
    assert iam.list_attached_user_policies(UserName="ida")["AttachedPolicies"] == []
    assert iam.list_groups_for_user(UserName="ida")["Groups"] == []


def test_access_keys_lifecycle_with_a_secret_key(kernel, aws):
    aws.iam().create_user(UserName="kay")
    key, _ = call(kernel, 'let k = iam::create_access_key(#{ user_name: "kay" }); k')
    assert key["secret_access_key"] == "********" and key["access_key_id"].startswith("AKIA")
    secret, _ = call(kernel, "reveal(k.secret_access_key)")
    assert len(json.loads(secret)) >= 20
    listed, _ = call(kernel, 'iam::list_access_keys(#{ user_name: "kay" })')
    assert [k["status"] for k in listed["keys"]] == ["Active"]
    out, _ = call(kernel, 'iam::update_access_key(#{ user_name: "kay", access_key_id: k.access_key_id, status: "Inactive" })')
    assert out["changed"] is True
    out, _ = call(kernel, 'iam::update_access_key(#{ user_name: "kay", access_key_id: k.access_key_id, status: "Inactive" })')
    assert out["changed"] is False
    assert aws.iam().list_access_keys(UserName="kay")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    _, err = call(kernel, 'iam::update_access_key(#{ user_name: "kay", access_key_id: k.access_key_id, status: "Off" })')
    assert "status must be Active or Inactive" in err
    assert call(kernel, 'iam::delete_access_key(#{ user_name: "kay", access_key_id: k.access_key_id })')[0]["changed"] is True
    assert call(kernel, 'iam::delete_access_key(#{ user_name: "kay", access_key_id: k.access_key_id })')[0]["changed"] is False


def test_read_only_actions(kernel, aws):
    iam = aws.iam()
    iam.create_user(UserName="lee", Path="/eng/")
    iam.create_user(UserName="max")
    iam.put_user_policy(UserName="lee", PolicyName="inline1", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    iam.create_group(GroupName="g1")
    iam.add_user_to_group(UserName="lee", GroupName="g1")
    out, _ = call(kernel, 'iam::get_user(#{ user_name: "lee" })')
    assert out["exists"] is True and out["path"] == "/eng/"
    assert call(kernel, 'iam::get_user(#{ user_name: "nobody" })')[0]["exists"] is False
    out, _ = call(kernel, 'iam::list_users(#{ path_prefix: "/eng/" })')
    assert [u["user_name"] for u in out["users"]] == ["lee"]
    assert len(call(kernel, "iam::list_users()")[0]["users"]) == 2
    assert call(kernel, 'iam::list_user_policies(#{ user_name: "lee" })')[0]["policy_names"] == ["inline1"]
    assert [g["group_name"] for g in call(kernel, 'iam::list_groups_for_user(#{ user_name: "lee" })')[0]["groups"]] == ["g1"]
    doc, _ = call(kernel, 'iam::get_policy_document(#{ policy: "IAMUserChangePassword" })')
    assert doc["policy_arn"] == "arn:aws:iam::aws:policy/IAMUserChangePassword"
    actions = json.dumps(doc["document"]["Statement"])
    assert "iam:ChangePassword" in actions


def test_update_login_profile_generates_a_masked_password(kernel, aws):
    iam = aws.iam()
    iam.create_user(UserName="nia")
    _, err = call(kernel, 'iam::update_login_profile(#{ user_name: "nia" })')
    assert "NoSuchEntity" in err
    iam.create_login_profile(UserName="nia", Password="Xx1!Original-Passw0rd")
    out, _ = call(kernel, 'let p = iam::update_login_profile(#{ user_name: "nia" }); p')
    assert out["password"] == "********" and out["changed"] is True
    new = json.loads(call(kernel, "reveal(p.password)")[0])
    assert new != "Xx1!Original-Passw0rd" and aws.password_of("nia") == new


# --- the guard -------------------------------------------------------------------------

def test_guard_refuses_administrator_access_with_the_rule(kernel, aws):
    aws.iam().create_user(UserName="olga")
    _, err = call(kernel, '%%action aws.iam.attach_user_policy\nuser_name: "olga"\npolicy: "AdministratorAccess"')
    assert err == ("policy guard refused `aws.iam.attach_user_policy`: AdministratorAccess is on the deny list "
                   "(the built-in default); attaching it would grant far more than least privilege")
    assert aws.iam().list_attached_user_policies(UserName="olga")["AttachedPolicies"] == []
    out, err = call(kernel, '%%action aws.iam.attach_user_policy\nuser_name: "olga"\npolicy: "IAMUserChangePassword"')
    assert err is None and out["changed"] is True


def test_guard_refuses_a_customer_policy_that_allows_everything(kernel, aws):
    iam = aws.iam()
    iam.create_user(UserName="pat")
    arn = iam.create_policy(PolicyName="TotallyHarmless", PolicyDocument=json.dumps(ADMIN_LIKE))["Policy"]["Arn"]
    _, err = call(kernel, f'iam::attach_user_policy(#{{ user_name: "pat", policy: "{arn}" }})')
    assert "policy guard refused" in err
    assert 'allows "Action": "*" on "Resource": "*"' in err and "decided by the built-in default" in err
    assert "RUNBOOK_ALLOW_WILDCARD_POLICIES=true" in err
    _, err = call(kernel, f'iam::put_user_policy(#{{ user_name: "pat", policy_name: "x", policy_document: `{json.dumps(ADMIN_LIKE)}` }})')
    assert "policy guard refused `aws.iam.put_user_policy`: the inline policy allows" in err
    assert iam.list_attached_user_policies(UserName="pat")["AttachedPolicies"] == []
    assert iam.list_user_policies(UserName="pat")["PolicyNames"] == []


@pytest.mark.parametrize("statement, found", [
    ({"Effect": "Allow", "Action": "iam:Attach*", "Resource": "*"}, '"iam:Attach*", which covers iam:AttachUserPolicy'),
    ({"Effect": "Allow", "Action": "iam:*Policy*", "Resource": "*"}, '"iam:*Policy*", which covers iam:AttachUserPolicy'),
    ({"Effect": "Allow", "Action": "*:*", "Resource": "*"}, '"Action": "*:*" on "Resource": "*"'),
    ({"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}, 'every action except those listed under "NotAction"'),
])
def test_guard_refuses_wildcards_that_amount_to_admin(kernel, aws, statement, found):
    iam = aws.iam()
    iam.create_user(UserName="pia")
    doc = {"Version": "2012-10-17", "Statement": [statement]}
    arn = iam.create_policy(PolicyName="LooksNarrow", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    _, err = call(kernel, f'%%action aws.iam.attach_user_policy\nuser_name: "pia"\npolicy: "{arn}"')
    assert err.startswith("policy guard refused `aws.iam.attach_user_policy`: policy LooksNarrow (v1) allows "), err
    assert found in err
    assert iam.list_attached_user_policies(UserName="pia")["AttachedPolicies"] == []


def test_guard_refuses_joining_a_group_that_holds_admin_policies(kernel, aws):
    iam = aws.iam()
    iam.create_user(UserName="gus")
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_group(GroupName="wide")
    iam.put_group_policy(GroupName="wide", PolicyName="everything", PolicyDocument=json.dumps(ADMIN_LIKE))
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    _, err = call(kernel, '%%action aws.iam.add_user_to_group\nuser_name: "gus"\ngroup_name: "admins"')
    assert err == ("policy guard refused `aws.iam.add_user_to_group`: group admins has AdministratorAccess attached: "
                   "AdministratorAccess is on the deny list (the built-in default); attaching it would grant far more "
                   "than least privilege")
    _, err = call(kernel, 'iam::add_user_to_group(#{ user_name: "gus", group_name: "wide" })')
    assert "policy guard refused `aws.iam.add_user_to_group`: group wide's inline policy everything allows" in err
    out, err = call(kernel, '%%action aws.iam.add_user_to_group\nuser_name: "gus"\ngroup_name: "readers"')
    assert err is None and out["changed"] is True
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="gus")["Groups"]] == ["readers"]


def test_guard_config_mistakes_are_errors_not_defaults(tmp_path, aws, slack):
    aws.iam().create_user(UserName="tess")
    cell = 'iam::attach_user_policy(#{ user_name: "tess", policy: "IAMUserChangePassword" })'
    missing = tmp_path / "nope.toml"
    km, kc = start(dict(os.environ, RUNBOOK_CONFIG=str(missing)))
    try:
        _, err = call(kc, cell)
        assert f"cannot read {missing} (named by RUNBOOK_CONFIG)" in err and "unset RUNBOOK_CONFIG" in err
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    typo = tmp_path / "typo.toml"
    typo.write_text('[policy_gaurd]\nallow = ["ReadOnlyAccess"]\n')
    km, kc = start(dict(os.environ, RUNBOOK_CONFIG=str(typo)))
    try:
        _, err = call(kc, cell)
        assert f"{typo} is not valid" in err and "policy_gaurd" in err
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert aws.iam().list_attached_user_policies(UserName="tess")["AttachedPolicies"] == []


def test_guard_config_file_and_environment(tmp_path, aws, slack):
    iam = aws.iam()
    iam.create_user(UserName="quin")
    arn = iam.create_policy(PolicyName="Wide", PolicyDocument=json.dumps(ADMIN_LIKE))["Policy"]["Arn"]
    config = tmp_path / "config.toml"
    config.write_text('[policy_guard]\ndeny = ["ReadOnlyAccess"]\nallow_wildcard_policies = true\n')
    km, kc = start(dict(os.environ, RUNBOOK_CONFIG=str(config)))
    try:
        _, err = call(kc, 'iam::attach_user_policy(#{ user_name: "quin", policy: "ReadOnlyAccess" })')
        assert f"ReadOnlyAccess is on the deny list (`policy_guard.deny` in {config})" in err
        out, err = call(kc, f'iam::attach_user_policy(#{{ user_name: "quin", policy: "{arn}" }})')
        assert err is None and out["changed"] is True  # wildcard explicitly allowed by the file
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    km, kc = start(dict(os.environ, RUNBOOK_POLICY_ALLOW="IAMUserChangePassword"))
    try:
        _, err = call(kc, 'iam::attach_user_policy(#{ user_name: "quin", policy: "ReadOnlyAccess" })')
        assert "ReadOnlyAccess is not on the allow list (RUNBOOK_POLICY_ALLOW: IAMUserChangePassword)" in err
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_plan_shows_the_guard_verdict(tmp_path, aws, slack):
    aws.iam().create_user(UserName="ray")
    nb = make_notebook(tmp_path / "g.ipynb", [
        '%%action aws.iam.attach_user_policy\nuser_name: "ray"\npolicy: "AdministratorAccess"',
        '%%action aws.iam.attach_user_policy\nuser_name: "ray"\npolicy: "IAMUserChangePassword"',
    ])
    r = runbook("run", nb, "--dry-run", "--json", "-o", tmp_path / "p.ipynb")
    assert r.returncode == 3, r.stderr  # the plan predicts a failure
    admin, ok = json.loads(r.stdout)["plan"]
    assert admin["change"].startswith("refused by the policy guard: AdministratorAccess is on the deny list")
    assert admin["would_fail"] == admin["change"] and ok["would_fail"] is None
    assert admin["changed"] is False
    assert any(c.startswith("policy guard: allowed") for c in ok["checks"])


# --- transient failures ------------------------------------------------------------------

def test_concurrent_modification_is_retried_with_backoff(tmp_path, aws, slack, proxy):
    proxy.fail("CreateUser", "ConcurrentModification", "Rate exceeded for this user", times=2)
    nb = make_notebook(tmp_path / "c.ipynb", ['%%action aws.iam.create_user\nuser_name: "sam"'])
    r = runbook("run", nb, "-o", tmp_path / "o.ipynb", env=dict(os.environ, **proxy.env()))
    assert r.returncode == 0, r.stderr
    assert proxy.actions.count("CreateUser") == 3
    assert aws.iam().get_user(UserName="sam")["User"]["UserName"] == "sam"


def test_retries_are_bounded_and_the_error_names_operation_and_code(tmp_path, aws, slack, proxy):
    proxy.fail("CreateUser", "EntityTemporarilyUnmodifiable", "try later", times=5)
    nb = make_notebook(tmp_path / "c.ipynb", ['%%action aws.iam.create_user\nuser_name: "tom"'])
    env = dict(os.environ, **proxy.env(), RUNBOOK_IAM_CONFLICT_ATTEMPTS="2")
    r = runbook("run", nb, "-o", tmp_path / "o.ipynb", env=env)
    assert r.returncode == 1
    assert "CreateUser failed: EntityTemporarilyUnmodifiable: try later (gave up after 2 attempts)" in r.stderr
    assert proxy.actions.count("CreateUser") == 2


def test_throttling_is_retried_by_the_sdk_within_aws_max_attempts(tmp_path, aws, slack, proxy):
    nb = make_notebook(tmp_path / "t.ipynb", ['%%action aws.iam.get_user\nuser_name: "nobody"'])
    proxy.fail("GetUser", "Throttling", "Rate exceeded", status=400, times=2)
    r = runbook("run", nb, "-o", tmp_path / "o.ipynb", env=dict(os.environ, **proxy.env(), AWS_MAX_ATTEMPTS="3"))
    assert r.returncode == 0, r.stderr
    assert proxy.actions.count("GetUser") == 3
    proxy.actions.clear()
    proxy.fail("GetUser", "Throttling", "Rate exceeded", status=400, times=5)
    r = runbook("run", nb, "-o", tmp_path / "o.ipynb", env=dict(os.environ, **proxy.env(), AWS_MAX_ATTEMPTS="2"))
    assert r.returncode == 1
    assert "GetUser failed: Throttling: Rate exceeded" in r.stderr
    assert proxy.actions.count("GetUser") == 2


# --- the shipped runbooks re-run cleanly ------------------------------------------------------

def test_seed_rerun_changes_nothing_and_does_not_announce_twice(tmp_path, aws, slack):
    assert runbook("run", SEED, "-p", "user_name=uma", "-o", tmp_path / "1.ipynb").returncode == 0
    before = json.dumps(aws.iam().get_user(UserName="uma")["User"], default=str)
    r = runbook("run", SEED, "-p", "user_name=uma", "--json", "-o", tmp_path / "2.ipynb")
    assert r.returncode == 0, r.stderr
    cells = {c["action"]: c for c in json.loads(r.stdout)["cells"]}
    assert all(cells[a]["changed"] is False for a in ["aws.iam.create_user", "aws.iam.create_login_profile", "aws.iam.attach_user_policy"])
    assert cells["slack.post_message"]["status"] == "skipped"
    assert len(slack.messages()) == 1
    assert json.dumps(aws.iam().get_user(UserName="uma")["User"], default=str) == before


def test_seed_rerun_after_a_failed_announcement_announces(tmp_path, aws, slack):
    slack.error = "channel_not_found"
    r = runbook("run", SEED, "-p", "user_name=una", "-o", tmp_path / "1.ipynb")
    assert r.returncode == 1 and "channel_not_found" in r.stderr
    slack.error = None
    slack.reset()  # the stand-in records the refused request too
    r = runbook("run", SEED, "-p", "user_name=una", "--json", "-o", tmp_path / "2.ipynb")
    assert r.returncode == 0, r.stderr
    assert slack.messages()[-1]["text"] == f"New IAM user una added by {CALLER_ARN} with Access Policy IAMUserChangePassword"
    # Done now: a third run is quiet.
    r = runbook("run", SEED, "-p", "user_name=una", "--json", "-o", tmp_path / "3.ipynb")
    cells = {c["action"]: c for c in json.loads(r.stdout)["cells"]}
    assert cells["slack.post_message"]["status"] == "skipped"
    assert len(slack.messages()) == 1


def test_once_in_the_kernel_reports_when_it_was_done(aws, slack):
    km, kc = start()
    try:
        cell = '%%action slack.post_message -> m\n@once: "release-42"\nchannel: "#ops"\ntext: "released 42"'
        out, err = call(kc, cell)
        assert err is None and out["changed"] is True
        out, err = call(kc, cell)
        assert err is None and out["skipped"] is True
        assert re.fullmatch(r"@once release-42: already done at \S+ \(run [0-9a-f-]{36}\)", out["reason"]), out
        assert [m["text"] for m in slack.messages()] == ["released 42"]
        _, err = call(kc, '%%action slack.post_message\n@once: "k"\n@for_each: ["#a"]\n@item_input: channel\ntext: "x"')
        assert err == "@once cannot be combined with @for_each (one key stands for one call)"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_update_permissions_runbook(tmp_path, aws, slack):
    iam = aws.iam()
    iam.create_user(UserName="val")
    iam.attach_user_policy(UserName="val", PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
    args = ["-p", "user_name=val", "-p", "policy_to_attach=ReadOnlyAccess", "-p", "policy_to_detach=IAMUserChangePassword"]
    r = runbook("run", UPDATE, *args, "-o", tmp_path / "1.ipynb")
    assert r.returncode == 0, r.stderr
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="val")["AttachedPolicies"]] == ["ReadOnlyAccess"]
    assert slack.messages() == [{"channel": "#devops", "text": (
        f"Permissions of IAM user val updated by {CALLER_ARN}: attached ReadOnlyAccess; detached IAMUserChangePassword.")}]
    r = runbook("run", UPDATE, *args, "--json", "-o", tmp_path / "2.ipynb")
    assert r.returncode == 0 and len(slack.messages()) == 1
    r = runbook("run", UPDATE, "-p", "user_name=val", "-p", "policy_to_attach=PowerUserAccess", "-o", tmp_path / "3.ipynb")
    assert r.returncode == 1 and "PowerUserAccess is on the deny list" in r.stderr
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="val")["AttachedPolicies"]] == ["ReadOnlyAccess"]
