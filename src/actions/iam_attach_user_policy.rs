//! `aws.iam.attach_user_policy`.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct AttachUserPolicy;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.attach_user_policy",
    summary: "Attach a managed policy to an IAM user.",
    doc: "Calls IAM AttachUserPolicy. `policy` is an AWS-managed policy name (IAMUserChangePassword → arn:aws:iam::aws:policy/IAMUserChangePassword) or a full policy ARN.",
    inputs: &[
        InputSpec {
            name: "user_name",
            ty: InputType::String,
            required: true,
            doc: "the user",
            secret: false,
        },
        InputSpec {
            name: "policy",
            ty: InputType::String,
            required: true,
            doc: "AWS-managed policy name or policy ARN",
            secret: false,
        },
    ],
    output: &[
        OutputField {
            name: "user_name",
            doc: "the user",
            secret: false,
        },
        OutputField {
            name: "policy_arn",
            doc: "the attached policy's ARN",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether anything changed (true)",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:AttachUserPolicy"],
};

/// A policy name or ARN as an ARN.
pub fn policy_arn(policy: &str) -> String {
    if policy.starts_with("arn:") {
        policy.to_string()
    } else {
        format!("arn:aws:iam::aws:policy/{policy}")
    }
}

#[async_trait::async_trait]
impl Action for AttachUserPolicy {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let user = inputs.required_str("user_name");
        let arn = policy_arn(inputs.required_str("policy"));
        ctx.iam()
            .await
            .attach_user_policy()
            .user_name(user)
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_error("AttachUserPolicy", e))?;
        Ok(json!({ "user_name": user, "policy_arn": arn, "changed": true }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_policy_names_become_aws_arns_and_arns_pass_through() {
        assert_eq!(
            policy_arn("IAMUserChangePassword"),
            "arn:aws:iam::aws:policy/IAMUserChangePassword"
        );
        assert_eq!(
            policy_arn("arn:aws:iam::123456789012:policy/x"),
            "arn:aws:iam::123456789012:policy/x"
        );
    }
}
