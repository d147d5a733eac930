//! `aws.iam.create_login_profile`: console access with a (generated) temporary password.

use serde_json::json;

use super::Plan;
use super::context::aws_error;
use super::iam::{is_existing, retried_error, with_retries};
use super::password;
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct CreateLoginProfile;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.create_login_profile",
    summary: "Give an IAM user a console password (generated to fit the account's password policy).",
    doc: "Calls IAM CreateLoginProfile. Without `password`, generates one that satisfies the account's password policy (GetAccountPasswordPolicy; AWS's default policy when none is set). The password is a secret: shown masked, revealed only with reveal(...). When the user already has a login profile it is kept (`changed: false`, no password); `fail_if_exists: true` makes that an error.",
    inputs: &[
        InputSpec {
            name: "user_name",
            ty: InputType::String,
            required: true,
            doc: "the user to give console access",
            secret: false,
        },
        InputSpec {
            name: "password",
            ty: InputType::String,
            required: false,
            doc: "the password to set (default: generated)",
            secret: true,
        },
        InputSpec {
            name: "fail_if_exists",
            ty: InputType::Bool,
            required: false,
            doc: "make an existing one an error (EntityAlreadyExists) instead of `changed: false` (default false)",
            secret: false,
        },
        InputSpec {
            name: "password_reset_required",
            ty: InputType::Bool,
            required: false,
            doc: "whether the user must choose a new password at first sign-in (default true)",
            secret: false,
        },
    ],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "password",
            doc: "the temporary password",
            secret: true,
        },
        OutputField {
            name: "password_reset_required",
            doc: "whether a reset is required at first sign-in",
            secret: false,
        },
        OutputField {
            name: "create_date",
            doc: "creation time (RFC 3339)",
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
        "iam:CreateLoginProfile",
        "iam:GetAccountPasswordPolicy",
        "iam:GetLoginProfile (when one exists, and in plans)",
    ],
};

#[async_trait::async_trait]
impl Action for CreateLoginProfile {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let password = match inputs.str("password") {
            Some(p) => p.to_string(),
            None => password::generate(&password::account_policy(&iam).await?),
        };
        let reset = inputs.bool("password_reset_required").unwrap_or(true);
        let user = inputs.required_str("user_name");
        let created = with_retries("CreateLoginProfile", || {
            iam.create_login_profile()
                .user_name(user)
                .password(&password)
                .password_reset_required(reset)
                .send()
        })
        .await;
        let out = match created {
            Ok(out) => out,
            Err(e) if is_existing(&e) && !inputs.bool("fail_if_exists").unwrap_or(false) => {
                // The existing password is kept and cannot be read back; the rest is the current state.
                let current = iam
                    .get_login_profile()
                    .user_name(user)
                    .send()
                    .await
                    .map_err(|e| aws_error("GetLoginProfile", e))?;
                let profile = current.login_profile();
                return Ok(json!({
                    "user_name": user,
                    "password": null,
                    "password_reset_required": profile.map(|p| p.password_reset_required()),
                    "create_date": profile.map(|p| p.create_date().to_string()),
                    "changed": false,
                }));
            }
            Err(e) => return Err(retried_error("CreateLoginProfile", e)),
        };
        let profile = out.login_profile().ok_or_else(|| ActionError::Invalid {
            action: SPEC.name.into(),
            message: "CreateLoginProfile returned no login profile".into(),
        })?;
        Ok(json!({
            "user_name": profile.user_name(),
            "password": password,
            "password_reset_required": reset,
            "create_date": profile.create_date().to_string(),
            "changed": true,
        }))
    }

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let reset = inputs.bool("password_reset_required").unwrap_or(true);
        let mut checks = Vec::new();
        let source = if inputs.str("password").is_some() {
            "the given password".to_string()
        } else {
            let policy = password::account_policy(&iam).await?;
            checks.push(format!(
                "password policy: at least {} characters",
                policy.min_length
            ));
            "a generated password".to_string()
        };
        let fail_if_exists = inputs.bool("fail_if_exists").unwrap_or(false);
        let mut fails = None;
        let (change, changed) = match iam.get_login_profile().user_name(user).send().await {
            Ok(_) => {
                checks.push(format!("GetLoginProfile {user}: exists"));
                if fail_if_exists {
                    fails = Some(format!(
                        "{user} already has a login profile and fail_if_exists is set (CreateLoginProfile would fail with EntityAlreadyExists)"
                    ));
                }
                (
                    format!("none: {user} already has a login profile; the existing password is kept"),
                    false,
                )
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                checks.push(format!("GetLoginProfile {user}: none"));
                let reset_text = if reset {
                    ", reset required at first sign-in"
                } else {
                    ""
                };
                (
                    format!("give {user} console access with {source}{reset_text}"),
                    true,
                )
            }
            Err(e) => return Err(aws_error("GetLoginProfile", e)),
        };
        Ok(Plan {
            change,
            changed,
            checks,
            fails,
            output: json!({
                "user_name": user,
                "password": "(generated at run time)",
                "password_reset_required": reset,
                "create_date": "(at run time)",
            }),
        })
    }
}
