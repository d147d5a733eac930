//! `aws.iam.create_user`.

use aws_sdk_iam::types::Tag;
use serde_json::json;

use super::Plan;
use super::context::aws_error;
use super::iam::{is_existing, retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct CreateUser;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.create_user",
    summary: "Create an IAM user.",
    doc: "Calls IAM CreateUser. When the user already exists the result is the existing user with `changed: false`; with `fail_if_exists: true` that is an EntityAlreadyExists error instead.",
    inputs: &[
        InputSpec {
            name: "user_name",
            ty: InputType::String,
            required: true,
            doc: "name of the new user",
            secret: false,
        },
        InputSpec {
            name: "path",
            ty: InputType::String,
            required: false,
            doc: "IAM path, e.g. /engineering/ (default /)",
            secret: false,
        },
        InputSpec {
            name: "fail_if_exists",
            ty: InputType::Bool,
            required: false,
            doc: "make an existing one an error (EntityAlreadyExists) instead of `changed: false` (default false)",
            secret: false,
        },
        InputSpec {
            name: "tags",
            ty: InputType::StringMap,
            required: false,
            doc: "tags to set on the user, as a map of key to value",
            secret: false,
        },
    ],
    output: &[
        OutputField {
            name: "user_name",
            doc: "the user's name",
            secret: false,
        },
        OutputField {
            name: "user_id",
            doc: "the user's unique id",
            secret: false,
        },
        OutputField {
            name: "arn",
            doc: "the user's ARN",
            secret: false,
        },
        OutputField {
            name: "path",
            doc: "the user's path",
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
        "iam:CreateUser",
        "iam:TagUser (with tags)",
        "iam:GetUser (when the user exists, and in plans)",
    ],
};

#[async_trait::async_trait]
impl Action for CreateUser {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let mut tags = Vec::new();
        for (key, value) in inputs.string_map("tags") {
            let tag = Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| ActionError::Invalid {
                    action: SPEC.name.into(),
                    message: format!("bad tag: {e}"),
                })?;
            tags.push(tag);
        }
        let iam = ctx.iam().await;
        let name = inputs.required_str("user_name");
        let tags = (!tags.is_empty()).then_some(tags);
        let created = with_retries("CreateUser", || {
            iam.create_user()
                .user_name(name)
                .set_path(inputs.str("path").map(str::to_string))
                .set_tags(tags.clone())
                .send()
        })
        .await;
        let (user, changed) = match created {
            Ok(out) => (out.user().cloned(), true),
            Err(e) if is_existing(&e) && !inputs.bool("fail_if_exists").unwrap_or(false) => {
                let out = iam
                    .get_user()
                    .user_name(name)
                    .send()
                    .await
                    .map_err(|e| aws_error("GetUser", e))?;
                (out.user().cloned(), false)
            }
            Err(e) => return Err(retried_error("CreateUser", e)),
        };
        let user = user.ok_or_else(|| ActionError::Invalid {
            action: SPEC.name.into(),
            message: "IAM returned no user".into(),
        })?;
        Ok(json!({
            "user_name": user.user_name(),
            "user_id": user.user_id(),
            "arn": user.arn(),
            "path": user.path(),
            "create_date": user.create_date().to_string(),
            "changed": changed,
        }))
    }

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let name = inputs.required_str("user_name");
        let path = inputs.str("path").unwrap_or("/");
        match ctx.iam().await.get_user().user_name(name).send().await {
            Ok(out) => {
                let arn = out.user().map(|u| u.arn().to_string()).unwrap_or_default();
                let user_id = out.user().map(|u| u.user_id().to_string()).unwrap_or_default();
                let fails = inputs.bool("fail_if_exists").unwrap_or(false).then(|| {
                    format!(
                        "user {name} already exists and fail_if_exists is set (CreateUser would fail with EntityAlreadyExists)"
                    )
                });
                Ok(Plan {
                    change: format!("none: user {name} already exists ({arn}); it is kept as it is"),
                    changed: false,
                    checks: vec![format!("GetUser {name}: exists")],
                    fails,
                    output: json!({ "user_name": name, "arn": arn, "path": path, "user_id": user_id, "create_date": "" }),
                })
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                let account = ctx.account_hint();
                Ok(Plan {
                    change: format!("create user {name}"),
                    changed: true,
                    checks: vec![format!("GetUser {name}: does not exist")],
                    fails: None,
                    output: json!({
                        "user_name": name,
                        "arn": format!("arn:aws:iam::{account}:user{path}{name}"),
                        "path": path,
                        "user_id": "(assigned by AWS)",
                        "create_date": "(at run time)",
                    }),
                })
            }
            Err(e) => Err(aws_error("GetUser", e)),
        }
    }
}
