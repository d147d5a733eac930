//! `aws.iam.get_user`.

use serde_json::json;

use super::context::aws_error;
use super::{Action, ActionResult, ActionSpec, Context, Inputs, OutputField};

pub struct GetUser;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.get_user",
    summary: "Look up an IAM user; `exists` is false when there is none.",
    doc: "Calls IAM GetUser. A missing user is not an error: the output says `exists: false`.",
    inputs: &[super::iam::USER_NAME],
    output: &[
        OutputField {
            name: "exists",
            doc: "whether the user exists",
            secret: false,
        },
        OutputField {
            name: "user_name",
            doc: "the user's name",
            secret: false,
        },
        OutputField {
            name: "arn",
            doc: "the user's ARN (empty when missing)",
            secret: false,
        },
        OutputField {
            name: "user_id",
            doc: "the user's unique id",
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
            name: "tags",
            doc: "map of tag key to value",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["iam:GetUser"],
};

#[async_trait::async_trait]
impl Action for GetUser {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let name = inputs.required_str("user_name");
        match ctx.iam().await.get_user().user_name(name).send().await {
            Ok(out) => {
                let Some(u) = out.user() else {
                    return Ok(json!({ "exists": false, "user_name": name }));
                };
                let tags: serde_json::Map<String, serde_json::Value> = u
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().into()))
                    .collect();
                Ok(json!({
                    "exists": true,
                    "user_name": u.user_name(),
                    "arn": u.arn(),
                    "user_id": u.user_id(),
                    "path": u.path(),
                    "create_date": u.create_date().to_string(),
                    "tags": tags,
                }))
            }
            Err(e) if super::iam::is_missing(&e) => Ok(json!({
                "exists": false, "user_name": name, "arn": "", "user_id": "", "path": "", "create_date": "", "tags": {},
            })),
            Err(e) => Err(aws_error("GetUser", e)),
        }
    }
}
