//! `aws.iam.list_users`.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct ListUsers;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.list_users",
    summary: "List IAM users, optionally under a path prefix.",
    doc: "Calls IAM ListUsers, following every page.",
    inputs: &[InputSpec {
        name: "path_prefix",
        ty: InputType::String,
        required: false,
        doc: "only users whose path starts with this, e.g. /engineering/",
        secret: false,
    }],
    output: &[OutputField {
        name: "users",
        doc: "array of #{ user_name, arn, user_id, path, create_date }",
        secret: false,
    }],
    mutates: false,
    permissions: &["iam:ListUsers"],
};

#[async_trait::async_trait]
impl Action for ListUsers {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let mut pages = ctx
            .iam()
            .await
            .list_users()
            .set_path_prefix(inputs.str("path_prefix").map(str::to_string))
            .into_paginator()
            .send();
        let mut users = Vec::new();
        while let Some(page) = pages.next().await {
            for u in page.map_err(|e| aws_error("ListUsers", e))?.users() {
                users.push(json!({
                    "user_name": u.user_name(),
                    "arn": u.arn(),
                    "user_id": u.user_id(),
                    "path": u.path(),
                    "create_date": u.create_date().to_string(),
                }));
            }
        }
        Ok(json!({ "users": users }))
    }
}
