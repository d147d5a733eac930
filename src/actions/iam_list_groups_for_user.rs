//! `aws.iam.list_groups_for_user`.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct ListGroupsForUser;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.list_groups_for_user",
    summary: "List the IAM groups a user belongs to.",
    doc: "Calls IAM ListGroupsForUser, following every page.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "groups",
            doc: "array of #{ group_name, arn }",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["iam:ListGroupsForUser"],
};

/// The names of a user's groups.
pub async fn names(iam: &aws_sdk_iam::Client, user: &str) -> Result<Vec<String>, super::ActionError> {
    Ok(list(iam, user)
        .await?
        .iter()
        .filter_map(|g| g["group_name"].as_str().map(str::to_string))
        .collect())
}

async fn list(iam: &aws_sdk_iam::Client, user: &str) -> Result<Vec<serde_json::Value>, super::ActionError> {
    let mut pages = iam.list_groups_for_user().user_name(user).into_paginator().send();
    let mut groups = Vec::new();
    while let Some(page) = pages.next().await {
        for g in page.map_err(|e| aws_error("ListGroupsForUser", e))?.groups() {
            groups.push(json!({ "group_name": g.group_name(), "arn": g.arn() }));
        }
    }
    Ok(groups)
}

#[async_trait::async_trait]
impl Action for ListGroupsForUser {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let user = inputs.required_str("user_name");
        Ok(json!({ "user_name": user, "groups": list(&ctx.iam().await, user).await? }))
    }
}
