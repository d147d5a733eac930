//! `aws.iam.detach_user_policy`.

use serde_json::json;

use super::iam::{is_missing, policy_arn, retried_error, with_retries};
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct DetachUserPolicy;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.detach_user_policy",
    summary: "Detach a managed policy from an IAM user (unchanged when it is not attached).",
    doc: "Calls IAM DetachUserPolicy. `policy` is an AWS-managed policy name or a policy ARN; a policy that is not attached is `changed: false`.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "policy",
            ty: InputType::String,
            required: true,
            doc: "AWS-managed policy name or policy ARN",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "policy_arn",
            doc: "the policy's ARN",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether it was detached",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:DetachUserPolicy"],
};

#[async_trait::async_trait]
impl Action for DetachUserPolicy {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let arn = policy_arn(inputs.required_str("policy"));
        let changed = match with_retries("DetachUserPolicy", || {
            iam.detach_user_policy().user_name(user).policy_arn(&arn).send()
        })
        .await
        {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(retried_error("DetachUserPolicy", e)),
        };
        Ok(json!({ "user_name": user, "policy_arn": arn, "changed": changed }))
    }
}
