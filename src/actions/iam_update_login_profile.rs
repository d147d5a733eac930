//! `aws.iam.update_login_profile`: reset a console password.

use serde_json::json;

use super::Plan;
use super::iam::{is_missing, retried_error, with_retries};
use super::password;
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct UpdateLoginProfile;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.update_login_profile",
    summary: "Reset an IAM user's console password (generated to fit the password policy).",
    doc: "Calls IAM UpdateLoginProfile. Without `password`, generates one that satisfies the account's password policy. The password is a secret. Fails with NoSuchEntity when the user has no login profile.",
    inputs: &[
        super::iam::USER_NAME,
        InputSpec {
            name: "password",
            ty: InputType::String,
            required: false,
            doc: "the new password (default: generated)",
            secret: true,
        },
        InputSpec {
            name: "password_reset_required",
            ty: InputType::Bool,
            required: false,
            doc: "must the user choose a new password at next sign-in (default true)",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "password",
            doc: "the new password",
            secret: true,
        },
        OutputField {
            name: "password_reset_required",
            doc: "whether a reset is required",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "true",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["iam:UpdateLoginProfile", "iam:GetAccountPasswordPolicy"],
};

#[async_trait::async_trait]
impl Action for UpdateLoginProfile {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let password = match inputs.str("password") {
            Some(p) => p.to_string(),
            None => password::generate(&password::account_policy(&iam).await?),
        };
        let reset = inputs.bool("password_reset_required").unwrap_or(true);
        with_retries("UpdateLoginProfile", || {
            iam.update_login_profile()
                .user_name(user)
                .password(&password)
                .password_reset_required(reset)
                .send()
        })
        .await
        .map_err(|e| retried_error("UpdateLoginProfile", e))?;
        Ok(
            json!({ "user_name": user, "password": password, "password_reset_required": reset, "changed": true }),
        )
    }

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let user = inputs.required_str("user_name");
        let exists = match ctx.iam().await.get_login_profile().user_name(user).send().await {
            Ok(_) => true,
            Err(e) if is_missing(&e) => false,
            Err(e) => return Err(super::context::aws_error("GetLoginProfile", e)),
        };
        Ok(Plan {
            change: format!("reset {user}'s console password"),
            changed: exists,
            fails: (!exists).then(|| {
                format!("{user} has no login profile (UpdateLoginProfile would fail with NoSuchEntity)")
            }),
            checks: vec![format!(
                "GetLoginProfile {user}: {}",
                if exists { "exists" } else { "none" }
            )],
            output: json!({ "user_name": user, "password": "(generated at run time)", "password_reset_required": true }),
        })
    }
}
