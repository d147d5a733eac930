"""`runbook actions`: the catalog, generated from the registry the kernel uses."""

from nbtools import runbook

ACTIONS = [
    "aws.sts.get_caller_identity",
    "aws.iam.create_user",
    "aws.iam.create_login_profile",
    "aws.iam.attach_user_policy",
    "aws.iam.list_attached_user_policies",
    "aws.iam.get_user",
    "aws.iam.list_users",
    "aws.iam.tag_user",
    "aws.iam.untag_user",
    "aws.iam.delete_login_profile",
    "aws.iam.update_login_profile",
    "aws.iam.create_access_key",
    "aws.iam.list_access_keys",
    "aws.iam.update_access_key",
    "aws.iam.delete_access_key",
    "aws.iam.detach_user_policy",
    "aws.iam.put_user_policy",
    "aws.iam.delete_user_policy",
    "aws.iam.list_user_policies",
    "aws.iam.get_policy_document",
    "aws.iam.add_user_to_group",
    "aws.iam.remove_user_from_group",
    "aws.iam.list_groups_for_user",
    "aws.iam.remove_user",
    "slack.post_message",
]


def test_list_names_every_action_with_a_summary():
    r = runbook("actions")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert sorted(l.split()[0] for l in lines) == sorted(ACTIONS)
    assert all(len(l.split()) > 3 for l in lines)
    kinds = {l.split()[0]: l.split()[1] for l in lines}
    assert kinds["aws.sts.get_caller_identity"] == "read-only" and kinds["aws.iam.remove_user"] == "mutates"


def test_show_documents_inputs_output_mutation_and_permissions():
    r = runbook("actions", "show", "aws.iam.create_login_profile")
    assert r.returncode == 0
    out = r.stdout
    assert "user_name: string (required)" in out
    assert "password: string (optional, secret)" in out
    assert "password_reset_required: bool (optional)" in out
    assert "password (secret)" in out
    assert "Mutates: yes" in out
    assert "iam:CreateLoginProfile" in out and "iam:GetAccountPasswordPolicy" in out


def test_every_action_shows_permissions():
    for name in ACTIONS:
        r = runbook("actions", "show", name)
        assert r.returncode == 0, name
        needs = [l for l in r.stdout.splitlines() if l.startswith("Needs: ")]
        assert needs and len(needs[0]) > len("Needs: "), name


def test_unknown_action_suggests():
    r = runbook("actions", "show", "aws.iam.create_usr")
    assert r.returncode != 0
    assert "unknown action `aws.iam.create_usr`" in r.stderr and "aws.iam.create_user" in r.stderr
