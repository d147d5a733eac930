//! `aws.iam.untag_user`.

use serde_json::json;

use super::context::aws_error;
use super::iam::{retried_error, with_retries};
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct UntagUser;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.untag_user",
    summary: "Remove tags from an IAM user (unchanged when none of the keys is set).",
    doc: "Reads the user's tags (ListUserTags) and calls UntagUser for the keys that are present.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "keys",
            ty: InputType::StringList,
            required: true,
            doc: "tag keys to remove",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "removed",
            doc: "keys that were removed",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether any tag was removed",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:UntagUser", "iam:ListUserTags"],
};

#[async_trait::async_trait]
impl Action for UntagUser {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let current = iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .map_err(|e| aws_error("ListUserTags", e))?;
        let present: Vec<String> = inputs
            .string_list("keys")
            .into_iter()
            .filter(|k| current.tags().iter().any(|t| t.key() == k))
            .collect();
        if !present.is_empty() {
            with_retries("UntagUser", || {
                iam.untag_user()
                    .user_name(user)
                    .set_tag_keys(Some(present.clone()))
                    .send()
            })
            .await
            .map_err(|e| retried_error("UntagUser", e))?;
        }
        Ok(json!({ "user_name": user, "removed": present, "changed": !present.is_empty() }))
    }
}
