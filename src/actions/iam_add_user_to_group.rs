//! `aws.iam.add_user_to_group`.

use serde_json::json;

use super::iam::{retried_error, with_retries};
use super::iam_list_groups_for_user::names;
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct AddUserToGroup;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.add_user_to_group",
    summary: "Add an IAM user to a group (unchanged when already a member).",
    doc: "Checks membership (ListGroupsForUser) and calls AddUserToGroup when needed. The group's policies pass the least-privilege guard first, as attachments do.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "group_name",
            ty: InputType::String,
            required: true,
            doc: "the group",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "group_name",
            doc: "the group",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether the user was added",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &[
        "iam:AddUserToGroup",
        "iam:ListGroupsForUser",
        "iam:ListAttachedGroupPolicies",
        "iam:ListGroupPolicies",
        "iam:GetGroupPolicy",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ],
};

#[async_trait::async_trait]
impl Action for AddUserToGroup {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    fn guarded(&self) -> Option<super::guard::Guarded> {
        Some(super::guard::Guarded::Group("group_name"))
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let group = inputs.required_str("group_name");
        let member = names(&iam, user).await?.iter().any(|g| g == group);
        if !member {
            with_retries("AddUserToGroup", || {
                iam.add_user_to_group().user_name(user).group_name(group).send()
            })
            .await
            .map_err(|e| retried_error("AddUserToGroup", e))?;
        }
        Ok(json!({ "user_name": user, "group_name": group, "changed": !member }))
    }
}
