//! `aws.iam.list_user_policies`: inline policy names.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct ListUserPolicies;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.list_user_policies",
    summary: "List the names of an IAM user's inline policies.",
    doc: "Calls IAM ListUserPolicies, following every page.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "policy_names",
            doc: "array of inline policy names",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["iam:ListUserPolicies"],
};

#[async_trait::async_trait]
impl Action for ListUserPolicies {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let user = inputs.required_str("user_name");
        let mut pages = ctx
            .iam()
            .await
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            names.extend(
                page.map_err(|e| aws_error("ListUserPolicies", e))?
                    .policy_names()
                    .iter()
                    .cloned(),
            );
        }
        Ok(json!({ "user_name": user, "policy_names": names }))
    }
}
