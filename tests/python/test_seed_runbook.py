"""papermill runs notebooks/create_iam_user.ipynb against moto and a local Slack
endpoint; results are checked with boto3 and the recorded Slack requests, not with
anything of ours."""

import json

import nbformat
import papermill as pm
import pytest
from papermill.exceptions import PapermillExecutionError

from support import ROOT

SEED = ROOT / "notebooks" / "create_iam_user.ipynb"
CALLER_ARN = "arn:aws:sts::123456789012:user/moto"


def run(tmp_path, **params):
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(SEED), str(out), parameters=params, kernel_name="runbook",
                        progress_bar=False, execution_timeout=60)
    return out


def run_failing(tmp_path, **params):
    out = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError) as failure:
        pm.execute_notebook(str(SEED), str(out), parameters=params, kernel_name="runbook",
                            progress_bar=False, execution_timeout=60)
    return failure.value, nbformat.read(str(out), as_version=4)


def cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def error_text(c):
    return "\n".join(o.get("evalue", "") for o in c.get("outputs", []) if o.get("output_type") == "error")


def test_seed_runbook_creates_user_with_policy_and_announces_it(tmp_path, aws, slack):
    out = run(tmp_path, user_name="alice")
    iam = aws.iam()
    user = iam.get_user(UserName="alice")["User"]
    assert user["UserName"] == "alice"
    assert {"Key": "created-by", "Value": "runbook"} in iam.list_user_tags(UserName="alice")["Tags"]
    attached = iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/IAMUserChangePassword"]
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["UserName"] == "alice"
    assert slack.messages() == [{
        "channel": "#devops",
        "text": f"New IAM user alice added by {CALLER_ARN} with Access Policy IAMUserChangePassword",
    }]
    assert slack.requests[0]["auth"] == "Bearer xoxb-test-token"
    # The generated password is in moto's state and nowhere in the saved notebook.
    password = aws.password_of("alice")
    assert len(password) >= 20
    saved = out.read_text()
    assert password not in saved
    assert "********" in saved


def test_policy_parameter_and_channel_are_used(tmp_path, aws, slack):
    run(tmp_path, user_name="bob", policy="ReadOnlyAccess", slack_channel="#iam")
    attached = aws.iam().list_attached_user_policies(UserName="bob")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ReadOnlyAccess"]
    assert slack.messages()[0]["channel"] == "#iam"
    assert slack.messages()[0]["text"].endswith("with Access Policy ReadOnlyAccess")


def test_missing_required_parameter_fails_with_how_to_pass_it(tmp_path, aws, slack):
    err, nb = run_failing(tmp_path)
    assert err.ename == "ParameterError"
    assert "required parameter `user_name` has no value" in err.evalue
    assert "-p user_name VALUE" in err.evalue
    assert aws.iam().list_users()["Users"] == []
    assert slack.messages() == []


def test_unknown_policy_fails_at_attach_cell_and_slack_is_not_called(tmp_path, aws, slack):
    err, nb = run_failing(tmp_path, user_name="carol", policy="NoSuchPolicyXYZ")
    assert err.ename == "ActionError"
    assert "AttachUserPolicy failed: NoSuchEntity" in err.evalue
    assert "arn:aws:iam::aws:policy/NoSuchPolicyXYZ" in error_text(cell(nb, "attach-policy"))
    assert cell(nb, "slack").get("outputs") == []
    assert slack.messages() == []
    # Work done before the failure is real and reported: the user exists.
    assert aws.iam().get_user(UserName="carol")["User"]["UserName"] == "carol"


def test_hostile_parameter_value_arrives_as_literal_string(tmp_path, aws, slack):
    hostile = '"; throw "owned"; "'
    err, nb = run_failing(tmp_path, user_name=hostile)
    # The value is data: it reaches the pattern check intact and is rejected as a name.
    assert err.ename == "ParameterError"
    assert json.dumps(hostile) in err.evalue
    assert "owned" not in (err.ename or "")
    assert aws.iam().list_users()["Users"] == []


def test_hostile_value_reaches_slack_verbatim(tmp_path, aws, slack):
    hostile = 'ops"; throw "owned"; "\nsecond line ${user_name}'
    run(tmp_path, user_name="dave", slack_channel=hostile)
    assert slack.messages()[0]["channel"] == hostile


def test_slack_channel_not_found_is_reported(tmp_path, aws, slack):
    slack.error = "channel_not_found"
    err, nb = run_failing(tmp_path, user_name="erin", slack_channel="#nope")
    assert err.ename == "ActionError"
    assert "Slack chat.postMessage failed: channel_not_found" in err.evalue
    assert "channel_not_found" in error_text(cell(nb, "slack"))


def test_injected_cell_is_a_values_cell_after_parameters(tmp_path, aws, slack):
    out = run(tmp_path, user_name="frank")
    nb = nbformat.read(str(out), as_version=4)
    ids = [c.get("id") for c in nb.cells]
    injected = nb.cells[ids.index("parameters") + 1]
    assert "injected-parameters" in injected.metadata.tags
    assert injected.source.splitlines()[0] == "%%values"
    assert 'user_name: "frank"' in injected.source
    nbformat.validate(nb)


def test_help_notebook_shows_defaults_and_required(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(SEED)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "  user_name: string (default (required))" in r.stdout
    assert '  policy: string (default "IAMUserChangePassword")' in r.stdout
    assert '  slack_channel: string (default "#devops")' in r.stdout
