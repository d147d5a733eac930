//! `aws.iam.put_user_policy`: an inline policy, checked by the guard.

use serde_json::{Value, json};

use super::context::aws_error;
use super::iam::{decode_document, is_missing, retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct PutUserPolicy;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.put_user_policy",
    summary: "Create or replace an inline policy of an IAM user (unchanged when identical).",
    doc: "Compares with the current document (GetUserPolicy) and calls PutUserPolicy when it differs. The document passes the least-privilege guard: a wildcard grant is refused.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "policy_name",
            ty: InputType::String,
            required: true,
            doc: "the inline policy's name",
            secret: false,
        },
        InputSpec {
            name: "policy_document",
            ty: InputType::Document,
            required: true,
            doc: "the policy document, as a map or JSON text",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "policy_name",
            doc: "the inline policy",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether the policy was created or changed",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:PutUserPolicy", "iam:GetUserPolicy"],
};

fn document(inputs: &Inputs) -> Result<Value, ActionError> {
    match inputs.value("policy_document") {
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|e| ActionError::Invalid {
            action: SPEC.name.into(),
            message: format!("policy_document is not JSON: {e}"),
        }),
        Some(v) => Ok(v.clone()),
        None => Ok(Value::Null),
    }
}

#[async_trait::async_trait]
impl Action for PutUserPolicy {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    fn guarded(&self) -> Option<super::guard::Guarded> {
        Some(super::guard::Guarded::InlineDocument("policy_document"))
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let name = inputs.required_str("policy_name");
        let wanted = document(inputs)?;
        let current = match iam
            .get_user_policy()
            .user_name(user)
            .policy_name(name)
            .send()
            .await
        {
            Ok(out) => decode_document(out.policy_document()).ok(),
            Err(e) if is_missing(&e) => None,
            Err(e) => return Err(aws_error("GetUserPolicy", e)),
        };
        let changed = current.as_ref() != Some(&wanted);
        if changed {
            let text = wanted.to_string();
            with_retries("PutUserPolicy", || {
                iam.put_user_policy()
                    .user_name(user)
                    .policy_name(name)
                    .policy_document(&text)
                    .send()
            })
            .await
            .map_err(|e| retried_error("PutUserPolicy", e))?;
        }
        Ok(json!({ "user_name": user, "policy_name": name, "changed": changed }))
    }
}
