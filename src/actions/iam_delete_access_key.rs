//! `aws.iam.delete_access_key`.

use serde_json::json;

use super::iam::{is_missing, retried_error, with_retries};
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct DeleteAccessKey;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.delete_access_key",
    summary: "Delete an access key (unchanged when it is already gone).",
    doc: "Calls IAM DeleteAccessKey; a missing key is `changed: false`.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "access_key_id",
            ty: InputType::String,
            required: true,
            doc: "the key id",
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
            name: "changed",
            doc: "whether a key was deleted",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:DeleteAccessKey"],
};

#[async_trait::async_trait]
impl Action for DeleteAccessKey {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let id = inputs.required_str("access_key_id");
        let changed = match with_retries("DeleteAccessKey", || {
            iam.delete_access_key().user_name(user).access_key_id(id).send()
        })
        .await
        {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(retried_error("DeleteAccessKey", e)),
        };
        Ok(json!({ "access_key_id": id, "changed": changed }))
    }
}
