//! `aws.iam.list_attached_user_policies`.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct ListAttachedUserPolicies;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.list_attached_user_policies",
    summary: "List the managed policies attached to an IAM user.",
    doc: "Calls IAM ListAttachedUserPolicies, following every page.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "policies",
            doc: "array of #{ policy_name, policy_arn }",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["iam:ListAttachedUserPolicies"],
};

#[async_trait::async_trait]
impl Action for ListAttachedUserPolicies {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let user = inputs.required_str("user_name");
        let mut pages = ctx
            .iam()
            .await
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send();
        let mut policies = Vec::new();
        while let Some(item) = pages.next().await {
            let p = item.map_err(|e| aws_error("ListAttachedUserPolicies", e))?;
            policies.push(json!({ "policy_name": p.policy_name(), "policy_arn": p.policy_arn() }));
        }
        Ok(json!({ "user_name": user, "policies": policies }))
    }
}
