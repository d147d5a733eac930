//! `aws.iam.list_access_keys`.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct ListAccessKeys;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.list_access_keys",
    summary: "List an IAM user's access keys.",
    doc: "Calls IAM ListAccessKeys, following every page.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "keys",
            doc: "array of #{ access_key_id, status, create_date }",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["iam:ListAccessKeys"],
};

/// Every access key id and status of a user.
pub async fn list(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Vec<serde_json::Value>, super::ActionError> {
    let mut pages = iam.list_access_keys().user_name(user).into_paginator().send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        for k in page
            .map_err(|e| aws_error("ListAccessKeys", e))?
            .access_key_metadata()
        {
            keys.push(json!({
                "access_key_id": k.access_key_id(),
                "status": k.status().map(|s| s.as_str()),
                "create_date": k.create_date().map(|d| d.to_string()),
            }));
        }
    }
    Ok(keys)
}

#[async_trait::async_trait]
impl Action for ListAccessKeys {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let user = inputs.required_str("user_name");
        Ok(json!({ "user_name": user, "keys": list(&ctx.iam().await, user).await? }))
    }
}
