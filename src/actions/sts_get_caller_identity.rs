//! `aws.sts.get_caller_identity`: who the runbook is acting as.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct GetCallerIdentity;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.sts.get_caller_identity",
    summary: "Return the AWS account, ARN and user id the runbook's credentials belong to.",
    doc: "Calls STS GetCallerIdentity with the credentials from the default chain. Needs no permission grant; useful to record who made a change.",
    inputs: &[],
    output: &[
        OutputField {
            name: "account",
            doc: "12-digit AWS account id",
            secret: false,
        },
        OutputField {
            name: "arn",
            doc: "ARN of the calling identity",
            secret: false,
        },
        OutputField {
            name: "user_id",
            doc: "unique id of the calling identity",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["sts:GetCallerIdentity (always allowed)"],
};

#[async_trait::async_trait]
impl Action for GetCallerIdentity {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, _inputs: &Inputs) -> ActionResult {
        let out = ctx
            .sts()
            .await
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_error("GetCallerIdentity", e))?;
        if let Some(account) = out.account() {
            ctx.remember_account(account);
        }
        Ok(json!({
            "account": out.account(),
            "arn": out.arn(),
            "user_id": out.user_id(),
        }))
    }
}
