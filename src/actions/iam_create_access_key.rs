//! `aws.iam.create_access_key`.

use serde_json::json;

use super::iam::{retried_error, with_retries};
use super::{Action, ActionError, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct CreateAccessKey;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.create_access_key",
    summary: "Create an access key for an IAM user; the secret key is a secret value.",
    doc: "Calls IAM CreateAccessKey. AWS shows the secret access key only once: it is masked in outputs; use reveal() to hand it over through a secure channel.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "access_key_id",
            doc: "the key id (AKIA…)",
            secret: false,
        },
        OutputField {
            name: "secret_access_key",
            doc: "the secret key",
            secret: true,
        },
        OutputField {
            name: "status",
            doc: "Active",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "true",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:CreateAccessKey"],
};

#[async_trait::async_trait]
impl Action for CreateAccessKey {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let out = with_retries("CreateAccessKey", || {
            iam.create_access_key().user_name(user).send()
        })
        .await
        .map_err(|e| retried_error("CreateAccessKey", e))?;
        let key = out.access_key().ok_or_else(|| ActionError::Invalid {
            action: SPEC.name.into(),
            message: "CreateAccessKey returned no key".into(),
        })?;
        Ok(json!({
            "user_name": user,
            "access_key_id": key.access_key_id(),
            "secret_access_key": key.secret_access_key(),
            "status": key.status().as_str(),
            "changed": true,
        }))
    }
}
