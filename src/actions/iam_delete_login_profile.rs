//! `aws.iam.delete_login_profile`: remove console access.

use serde_json::json;

use super::iam::{is_missing, retried_error, with_retries};
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct DeleteLoginProfile;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.delete_login_profile",
    summary: "Remove an IAM user's console password (unchanged when there is none).",
    doc: "Calls IAM DeleteLoginProfile; a user without a login profile is `changed: false`.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "changed",
            doc: "whether a login profile was deleted",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:DeleteLoginProfile"],
};

#[async_trait::async_trait]
impl Action for DeleteLoginProfile {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let changed = match with_retries("DeleteLoginProfile", || {
            iam.delete_login_profile().user_name(user).send()
        })
        .await
        {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(retried_error("DeleteLoginProfile", e)),
        };
        Ok(json!({ "user_name": user, "changed": changed }))
    }
}
