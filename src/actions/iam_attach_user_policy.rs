//! `aws.iam.attach_user_policy`.

use serde_json::json;

use super::context::aws_error;
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField, Plan,
};

pub struct AttachUserPolicy;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.attach_user_policy",
    summary: "Attach a managed policy to an IAM user.",
    doc: "Calls IAM AttachUserPolicy unless the policy is already attached (then `changed: false`). Passes the least-privilege guard first. `policy` is an AWS-managed policy name (IAMUserChangePassword → arn:aws:iam::aws:policy/IAMUserChangePassword) or a full policy ARN.",
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
    permissions: &[
        "iam:AttachUserPolicy",
        "iam:ListAttachedUserPolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ],
};

use super::iam::{policy_arn, retried_error, with_retries};

#[async_trait::async_trait]
impl Action for AttachUserPolicy {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    fn guarded(&self) -> Option<super::guard::Guarded> {
        Some(super::guard::Guarded::ManagedPolicy("policy"))
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let arn = policy_arn(inputs.required_str("policy"));
        let mut pages = iam
            .list_attached_user_policies()
            .user_name(user)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            match item {
                Ok(p) if p.policy_arn() == Some(arn.as_str()) => {
                    return Ok(json!({ "user_name": user, "policy_arn": arn, "changed": false }));
                }
                Ok(_) => {}
                // A missing user: let AttachUserPolicy report it in its own words.
                Err(e) if super::iam::is_missing(&e) => break,
                Err(e) => return Err(aws_error("ListAttachedUserPolicies", e)),
            }
        }
        with_retries("AttachUserPolicy", || {
            iam.attach_user_policy().user_name(user).policy_arn(&arn).send()
        })
        .await
        .map_err(|e| retried_error("AttachUserPolicy", e))?;
        Ok(json!({ "user_name": user, "policy_arn": arn, "changed": true }))
    }

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let arn = policy_arn(inputs.required_str("policy"));
        let output = json!({ "user_name": user, "policy_arn": arn });
        let mut checks = Vec::new();
        match iam.get_policy().policy_arn(&arn).send().await {
            Ok(_) => checks.push(format!("GetPolicy {arn}: exists")),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                checks.push(format!("GetPolicy {arn}: does not exist"));
                return Ok(Plan {
                    change: format!("attach {arn} to {user}"),
                    changed: false,
                    checks,
                    fails: Some(format!(
                        "policy {arn} does not exist (AttachUserPolicy would fail with NoSuchEntity)"
                    )),
                    output,
                });
            }
            Err(e) => return Err(aws_error("GetPolicy", e)),
        }
        let attached = match super::iam::attached_policy_arns(&iam, user).await? {
            Some(arns) => arns.contains(&arn),
            None => {
                checks.push(format!("user {user} does not exist yet"));
                false
            }
        };
        Ok(if attached {
            checks.push(format!("{arn} is already attached to {user}"));
            Plan {
                change: format!("none: {arn} is already attached to {user}"),
                changed: false,
                checks,
                fails: None,
                output,
            }
        } else {
            Plan {
                change: format!("attach {arn} to {user}"),
                changed: true,
                checks,
                fails: None,
                output,
            }
        })
    }
}
