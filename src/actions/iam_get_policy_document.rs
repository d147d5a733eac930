//! `aws.iam.get_policy_document`: what a managed policy allows.

use serde_json::json;

use super::iam::{managed_policy_document, policy_arn};
use super::{Action, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField};

pub struct GetPolicyDocument;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.get_policy_document",
    summary: "Read the default version's JSON document of a managed policy.",
    doc: "Calls IAM GetPolicy then GetPolicyVersion for the default version, and decodes the document.",
    inputs: &[InputSpec {
        name: "policy",
        ty: InputType::String,
        required: true,
        doc: "AWS-managed policy name or policy ARN",
        secret: false,
    }],
    output: &[
        OutputField {
            name: "policy_arn",
            doc: "the policy's ARN",
            secret: false,
        },
        OutputField {
            name: "version_id",
            doc: "the default version (v1, v2, …)",
            secret: false,
        },
        OutputField {
            name: "document",
            doc: "the policy document as a map",
            secret: false,
        },
    ],
    mutates: false,
    permissions: &["iam:GetPolicy", "iam:GetPolicyVersion"],
};

#[async_trait::async_trait]
impl Action for GetPolicyDocument {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let arn = policy_arn(inputs.required_str("policy"));
        let (version, document) = managed_policy_document(&ctx.iam().await, &arn).await?;
        Ok(json!({ "policy_arn": arn, "version_id": version, "document": document }))
    }
}
