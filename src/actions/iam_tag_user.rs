//! `aws.iam.tag_user`.

use aws_sdk_iam::types::Tag;
use serde_json::json;

use super::context::aws_error;
use super::iam::{retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct TagUser;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.tag_user",
    summary: "Set tags on an IAM user (unchanged when they already have those values).",
    doc: "Reads the user's tags (ListUserTags) and calls TagUser only for keys whose value differs.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "tags",
            ty: InputType::StringMap,
            required: true,
            doc: "map of tag key to value",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "tagged",
            doc: "keys that were set or changed",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether any tag changed",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:TagUser", "iam:ListUserTags"],
};

#[async_trait::async_trait]
impl Action for TagUser {
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
        let mut tags = Vec::new();
        let mut keys = Vec::new();
        for (k, v) in inputs.string_map("tags") {
            if current.tags().iter().any(|t| t.key() == k && t.value() == v) {
                continue;
            }
            keys.push(k.clone());
            tags.push(
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| ActionError::Invalid {
                        action: SPEC.name.into(),
                        message: format!("bad tag: {e}"),
                    })?,
            );
        }
        if !tags.is_empty() {
            with_retries("TagUser", || {
                iam.tag_user().user_name(user).set_tags(Some(tags.clone())).send()
            })
            .await
            .map_err(|e| retried_error("TagUser", e))?;
        }
        Ok(json!({ "user_name": user, "tagged": keys, "changed": !keys.is_empty() }))
    }
}
