//! `aws.iam.detach_user_policy`.

use serde_json::json;

use super::iam::{attached_policy_arns, is_missing, policy_arn, retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField, Plan,
};

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
    permissions: &["iam:DetachUserPolicy", "iam:ListAttachedUserPolicies (in plans)"],
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

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let user = inputs.required_str("user_name");
        let arn = policy_arn(inputs.required_str("policy"));
        let found = attached_policy_arns(&ctx.iam().await, user)
            .await?
            .map(|arns| arns.contains(&arn));
        let (change, check) = match found {
            Some(true) => (
                format!("detach {arn} from {user}"),
                format!("{arn} is attached to {user}"),
            ),
            Some(false) => (
                format!("none: {arn} is not attached to {user}"),
                format!("{arn} is not attached"),
            ),
            None => (
                format!("none: user {user} does not exist"),
                format!("user {user} does not exist"),
            ),
        };
        Ok(Plan {
            change,
            changed: found == Some(true),
            checks: vec![check],
            fails: None,
            output: json!({ "user_name": user, "policy_arn": arn }),
        })
    }
}
