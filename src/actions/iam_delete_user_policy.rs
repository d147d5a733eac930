//! `aws.iam.delete_user_policy`: remove an inline policy.

use serde_json::json;

use super::context::aws_error;
use super::iam::{is_missing, retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField, Plan,
};

pub struct DeleteUserPolicy;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.delete_user_policy",
    summary: "Delete an inline policy of an IAM user (unchanged when it is already gone).",
    doc: "Calls IAM DeleteUserPolicy; a missing policy is `changed: false`.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "policy_name",
            ty: InputType::String,
            required: true,
            doc: "the inline policy's name",
            secret: false,
        },
    ],
    output: &[
        OutputField {
            name: "policy_name",
            doc: "the inline policy",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether it was deleted",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:DeleteUserPolicy", "iam:GetUserPolicy (in plans)"],
};

#[async_trait::async_trait]
impl Action for DeleteUserPolicy {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let name = inputs.required_str("policy_name");
        let changed = match with_retries("DeleteUserPolicy", || {
            iam.delete_user_policy().user_name(user).policy_name(name).send()
        })
        .await
        {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(retried_error("DeleteUserPolicy", e)),
        };
        Ok(json!({ "policy_name": name, "changed": changed }))
    }

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let user = inputs.required_str("user_name");
        let name = inputs.required_str("policy_name");
        let exists = match ctx
            .iam()
            .await
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(aws_error("GetUserPolicy", e)),
        };
        Ok(Plan {
            change: if exists {
                format!("delete {user}'s inline policy {name}")
            } else {
                format!("none: {user} has no inline policy {name}")
            },
            changed: exists,
            checks: vec![format!(
                "GetUserPolicy {user}/{name}: {}",
                if exists { "exists" } else { "none" }
            )],
            fails: None,
            output: json!({ "policy_name": name }),
        })
    }
}
