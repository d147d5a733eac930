"""Actions through the kernel against moto and the local Slack endpoint: AWS error
codes, password policy, Slack errors, retries and configuration."""

import json
import os
import time

import pytest
from jupyter_client.manager import start_new_kernel

CALLER_ARN = "arn:aws:sts::123456789012:user/moto"


@pytest.fixture
def kernel(aws, slack):
    km, kc = start_new_kernel(kernel_name="runbook", startup_timeout=30)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code):
    outputs = []
    reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: outputs.append(m))
    content = reply["content"]
    results = [m["content"]["data"] for m in outputs if m["msg_type"] == "execute_result"]
    errors = [m["content"] for m in outputs if m["msg_type"] == "error"]
    return content, results, errors


def test_caller_identity_through_action_cell_and_rhai(kernel):
    content, results, _ = run(kernel, "%%action aws.sts.get_caller_identity -> me")
    assert content["status"] == "ok"
    assert results[0]["application/json"] == {"account": "123456789012", "arn": CALLER_ARN, "user_id": results[0]["application/json"]["user_id"]}
    content, results, _ = run(kernel, "sts::get_caller_identity().arn == me.arn")
    assert results[0]["text/plain"] == "true"


def test_aws_errors_show_code_and_message(kernel, aws):
    aws.iam().create_user(UserName="alice")
    content, _, errors = run(kernel, '%%action aws.iam.create_user -> u\nuser_name: "alice"\nfail_if_exists: true')
    assert content["status"] == "error"
    # moto words the message differently from AWS; the code and the operation are ours to show.
    assert errors[0]["evalue"].startswith("CreateUser failed: EntityAlreadyExists: ")
    assert "alice" in errors[0]["evalue"]
    # The kernel keeps going.
    assert run(kernel, "1")[0]["status"] == "ok"


def test_rhai_call_errors_carry_the_action_and_code(kernel):
    content, _, errors = run(kernel, 'iam::attach_user_policy(#{ user_name: "nobody", policy: "ReadOnlyAccess" })')
    assert content["status"] == "error"
    assert "aws.iam.attach_user_policy: AttachUserPolicy failed: NoSuchEntity" in errors[0]["evalue"]


def test_generated_password_follows_the_account_policy_and_stays_masked(kernel, aws):
    iam = aws.iam()
    iam.update_account_password_policy(MinimumPasswordLength=42, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)
    iam.create_user(UserName="pat")
    content, results, _ = run(kernel, '%%action aws.iam.create_login_profile -> login\nuser_name: "pat"')
    assert content["status"] == "ok"
    shown = json.dumps(results)
    assert results[0]["application/json"]["password"] == "********"
    content, results, _ = run(kernel, "reveal(login.password)")
    password = json.loads(results[0]["text/plain"])
    assert len(password) == 42
    assert password not in shown
    assert any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    # Explicit password input, passed as a secret.
    iam.create_user(UserName="quinn")
    content, results, _ = run(kernel, '%%action aws.iam.create_login_profile -> l2\nuser_name: "quinn"\npassword: secret("Xx1!' + "y" * 40 + '")\npassword_reset_required: false')
    assert content["status"] == "ok"
    assert "y" * 40 not in json.dumps(results)


def test_list_attached_user_policies(kernel, aws):
    iam = aws.iam()
    iam.create_user(UserName="ren")
    for name in ["ReadOnlyAccess", "IAMUserChangePassword"]:
        iam.attach_user_policy(UserName="ren", PolicyArn=f"arn:aws:iam::aws:policy/{name}")
    content, results, _ = run(kernel, '%%action aws.iam.list_attached_user_policies -> p\nuser_name: "ren"')
    names = sorted(p["policy_name"] for p in results[0]["application/json"]["policies"])
    assert names == ["IAMUserChangePassword", "ReadOnlyAccess"]


def test_slack_rate_limit_is_retried_after_retry_after(kernel, slack):
    slack.rate_limited = 2
    start = time.monotonic()
    content, results, _ = run(kernel, '%%action slack.post_message -> m\nchannel: "#ops"\ntext: "hello"')
    assert content["status"] == "ok"
    assert len(slack.requests) == 3
    assert time.monotonic() - start >= 2.0  # Retry-After: 1, twice
    assert results[0]["application/json"]["text"] == "hello"


def test_slack_invalid_auth_is_reported(aws, slack):
    km, kc = start_new_kernel(kernel_name="runbook", env=dict(os.environ, SLACK_BOT_TOKEN="xoxb-wrong"))
    try:
        content, _, errors = run(kc, '%%action slack.post_message\nchannel: "#ops"\ntext: "hi"')
        assert content["status"] == "error"
        assert errors[0]["evalue"].startswith("Slack chat.postMessage failed: invalid_auth")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_slack_without_token_says_how_to_configure(aws, slack):
    env = {k: v for k, v in os.environ.items() if k != "SLACK_BOT_TOKEN"}
    km, kc = start_new_kernel(kernel_name="runbook", env=env)
    try:
        content, _, errors = run(kc, '%%action slack.post_message\nchannel: "#ops"\ntext: "hi"')
        assert content["status"] == "error"
        assert "Slack is not configured: set SLACK_BOT_TOKEN" in errors[0]["evalue"]
        assert slack.requests == []
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_interrupt_abandons_a_slow_action_call(kernel, slack):
    slack.delay = 10
    msg_id = kernel.execute('%%action slack.post_message\nchannel: "#ops"\ntext: "slow"')
    deadline = time.time() + 5
    while not slack.requests and time.time() < deadline:
        time.sleep(0.05)
    start = time.monotonic()
    msg = kernel.session.msg("interrupt_request", {})
    kernel.control_channel.send(msg)
    while True:
        reply = kernel.get_shell_msg(timeout=5)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert time.monotonic() - start < 1.0
    assert reply["content"]["ename"] == "Interrupted"
    assert "may or may not have taken effect" in reply["content"]["evalue"]
    assert run(kernel, "1 + 1")[0]["status"] == "ok"
