//! What IAM actions share: policy names as ARNs, "not found" tests, retries of
//! IAM's transient conflicts, and reading policy documents.

use std::future::Future;
use std::time::Duration;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use serde_json::Value;

use super::{ActionError, InputSpec, InputType, OutputField};

/// The `user_name` input most IAM actions take.
pub const USER_NAME: InputSpec = InputSpec {
    name: "user_name",
    ty: InputType::String,
    required: true,
    doc: "the user",
    secret: false,
};

/// The `user_name` field most IAM action outputs echo.
pub const USER_NAME_OUT: OutputField = OutputField {
    name: "user_name",
    doc: "the user",
    secret: false,
};
use super::context::aws_error;

/// A policy name or ARN as an ARN (`ReadOnlyAccess` → `arn:aws:iam::aws:policy/ReadOnlyAccess`).
pub fn policy_arn(policy: &str) -> String {
    if policy.starts_with("arn:") {
        policy.to_string()
    } else {
        format!("arn:aws:iam::aws:policy/{policy}")
    }
}

/// Whether an SDK error is IAM's NoSuchEntity.
pub fn is_missing<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// Whether an SDK error is IAM's EntityAlreadyExists.
pub fn is_existing<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.code() == Some("EntityAlreadyExists")
}

/// How many times a call that hits `EntityTemporarilyUnmodifiable` or
/// `ConcurrentModification` is tried (`RUNBOOK_IAM_CONFLICT_ATTEMPTS`, default 5).
pub fn conflict_attempts() -> u32 {
    std::env::var("RUNBOOK_IAM_CONFLICT_ATTEMPTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(5)
}

const RETRIED: &[&str] = &["EntityTemporarilyUnmodifiable", "ConcurrentModification"];

/// Runs `call`, retrying IAM's transient conflicts with exponential backoff
/// (0.2 s, 0.4 s, … capped at 5 s). Throttling and 5xx are retried by the SDK's own
/// retry configuration (`AWS_MAX_ATTEMPTS`, `AWS_RETRY_MODE`). When attempts run out
/// the error names the operation, the code and the number of attempts.
pub async fn with_retries<T, E, R, F, Fut>(operation: &'static str, mut call: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    let attempts = conflict_attempts();
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < attempts && e.code().is_some_and(|c| RETRIED.contains(&c)) => {
                tracing::warn!(
                    "{operation}: {} (attempt {attempt}/{attempts}); retrying in {delay:?}",
                    e.code().unwrap_or_default()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// An error from a call made through [`with_retries`]: says how many attempts were made
/// when the last failure was one of the retried conflicts.
pub fn retried_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> ActionError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let retried = err.code().is_some_and(|c| RETRIED.contains(&c));
    match aws_error(operation, err) {
        ActionError::Aws { code, message, .. } if retried => ActionError::Aws {
            operation,
            code,
            message: format!("{message} (gave up after {} attempts)", conflict_attempts()),
        },
        other => other,
    }
}

/// The ARNs of the managed policies attached to `user`, every page; `None` when the
/// user does not exist (yet — plans ask before a planned create_user has run).
pub async fn attached_policy_arns(
    iam: &aws_sdk_iam::Client,
    user: &str,
) -> Result<Option<Vec<String>>, ActionError> {
    let mut pages = iam
        .list_attached_user_policies()
        .user_name(user)
        .into_paginator()
        .items()
        .send();
    let mut arns = Vec::new();
    while let Some(item) = pages.next().await {
        match item {
            Ok(p) => arns.extend(p.policy_arn().map(str::to_string)),
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(aws_error("ListAttachedUserPolicies", e)),
        }
    }
    Ok(Some(arns))
}

/// IAM returns policy documents URL-encoded; this decodes and parses one.
pub fn decode_document(encoded: &str) -> Result<Value, String> {
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("policy document is not JSON: {e}"))
}

/// The default version's document of a managed policy.
pub async fn managed_policy_document(
    iam: &aws_sdk_iam::Client,
    arn: &str,
) -> Result<(String, Value), ActionError> {
    let policy = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error("GetPolicy", e))?;
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .unwrap_or("v1")
        .to_string();
    let out = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version)
        .send()
        .await
        .map_err(|e| aws_error("GetPolicyVersion", e))?;
    let encoded = out.policy_version().and_then(|v| v.document()).unwrap_or("{}");
    let document = decode_document(encoded).map_err(|message| ActionError::Invalid {
        action: "GetPolicyVersion".into(),
        message,
    })?;
    Ok((version, document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_policy_names_become_aws_arns_and_arns_pass_through() {
        assert_eq!(
            policy_arn("IAMUserChangePassword"),
            "arn:aws:iam::aws:policy/IAMUserChangePassword"
        );
        assert_eq!(
            policy_arn("arn:aws:iam::123456789012:policy/x"),
            "arn:aws:iam::123456789012:policy/x"
        );
    }

    #[test]
    fn documents_are_url_decoded_then_parsed() {
        let doc = decode_document("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        assert!(decode_document("%7Bnope").is_err());
    }
}
