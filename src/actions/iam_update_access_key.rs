//! `aws.iam.update_access_key`: activate or deactivate a key.

use aws_sdk_iam::types::StatusType;
use serde_json::json;

use super::iam::{retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct UpdateAccessKey;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.update_access_key",
    summary: "Set an access key Active or Inactive (unchanged when it already is).",
    doc: "Reads the key's status (ListAccessKeys) and calls UpdateAccessKey only when it differs. Deactivating first is the safe way to retire a key.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "access_key_id",
            ty: InputType::String,
            required: true,
            doc: "the key id",
            secret: false,
        },
        InputSpec {
            name: "status",
            ty: InputType::String,
            required: true,
            doc: "Active or Inactive",
            secret: false,
        },
    ],
    output: &[
        OutputField {
            name: "access_key_id",
            doc: "the key id",
            secret: false,
        },
        OutputField {
            name: "status",
            doc: "the key's status now",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "whether the status changed",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:UpdateAccessKey", "iam:ListAccessKeys"],
};

#[async_trait::async_trait]
impl Action for UpdateAccessKey {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let id = inputs.required_str("access_key_id");
        let status = match inputs.required_str("status") {
            "Active" => StatusType::Active,
            "Inactive" => StatusType::Inactive,
            other => {
                return Err(ActionError::Invalid {
                    action: SPEC.name.into(),
                    message: format!("status must be Active or Inactive, not {other:?}"),
                });
            }
        };
        let keys = super::iam_list_access_keys::list(&iam, user).await?;
        let Some(current) = keys.iter().find(|k| k["access_key_id"] == id) else {
            return Err(ActionError::Aws {
                operation: "UpdateAccessKey",
                code: "NoSuchEntity".into(),
                message: format!("user {user} has no access key {id}"),
            });
        };
        let changed = current["status"].as_str() != Some(status.as_str());
        if changed {
            with_retries("UpdateAccessKey", || {
                iam.update_access_key()
                    .user_name(user)
                    .access_key_id(id)
                    .status(status.clone())
                    .send()
            })
            .await
            .map_err(|e| retried_error("UpdateAccessKey", e))?;
        }
        Ok(json!({ "access_key_id": id, "status": status.as_str(), "changed": changed }))
    }
}
