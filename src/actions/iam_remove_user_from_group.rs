//! `aws.iam.remove_user_from_group`.

use serde_json::json;

use super::iam::{is_missing, retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct RemoveUserFromGroup;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.remove_user_from_group",
    summary: "Remove an IAM user from a group (unchanged when not a member).",
    doc: "Calls IAM RemoveUserFromGroup; a user who is not a member is `changed: false`.",
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
        OutputField {
            name: "group_name",
            doc: "the group",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether the user was removed",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:RemoveUserFromGroup", "iam:ListGroupsForUser"],
};

#[async_trait::async_trait]
impl Action for RemoveUserFromGroup {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let group = inputs.required_str("group_name");
        // moto (and some IAM paths) accept removing a non-member; check membership first.
        let member = match super::iam_list_groups_for_user::names(&iam, user).await {
            Ok(groups) => groups.iter().any(|g| g == group),
            Err(ActionError::Aws { code, .. }) if code == "NoSuchEntity" => false,
            Err(e) => return Err(e),
        };
        let changed = member
            && match with_retries("RemoveUserFromGroup", || {
                iam.remove_user_from_group()
                    .user_name(user)
                    .group_name(group)
                    .send()
            })
            .await
            {
                Ok(_) => true,
                Err(e) if is_missing(&e) => false,
                Err(e) => return Err(retried_error("RemoveUserFromGroup", e)),
            };
        Ok(json!({ "group_name": group, "changed": changed }))
    }
}
