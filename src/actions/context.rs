//! Shared clients for actions: the AWS configuration (the SDK's default credential
//! chain, `AWS_ENDPOINT_URL`, the usual region settings) and an HTTP client for Slack.
//! Both are built on first use, so a runbook that only runs Rhai never touches AWS.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

use super::ActionError;

/// Clients and settings shared by every action call.
#[derive(Default)]
pub struct Context {
    aws: OnceCell<aws_config::SdkConfig>,
    http: OnceCell<reqwest::Client>,
    account: std::sync::OnceLock<String>,
}

impl Context {
    pub async fn aws(&self) -> &aws_config::SdkConfig {
        self.aws
            .get_or_init(|| async {
                // IAM and STS answer in any region; without one configured, use us-east-1
                // rather than failing before the first call.
                let region = RegionProviderChain::default_provider().or_else("us-east-1");
                aws_config::defaults(BehaviorVersion::latest())
                    .region(region)
                    .load()
                    .await
            })
            .await
    }

    pub async fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(self.aws().await)
    }

    pub async fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(self.aws().await)
    }

    /// The account id for predicted ARNs in plans: from a caller ARN seen in this
    /// process, else a placeholder.
    pub fn account_hint(&self) -> String {
        self.account
            .get()
            .cloned()
            .unwrap_or_else(|| "ACCOUNT".to_string())
    }

    pub fn remember_account(&self, account: &str) {
        let _ = self.account.set(account.to_string());
    }

    pub async fn http(&self) -> Result<&reqwest::Client, ActionError> {
        self.http
            .get_or_try_init(|| async {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .user_agent(concat!("runbook/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| ActionError::Invalid {
                        action: "http".into(),
                        message: format!("cannot build an HTTP client: {e}"),
                    })
            })
            .await
    }
}

/// An AWS SDK error as the operator needs to see it: the service's error code and
/// message (`EntityAlreadyExists: User with name alice already exists.`), or the full
/// cause chain for transport and credential failures — never a bare "service error".
pub fn aws_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> ActionError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = &err {
        let e = service.err();
        if let Some(code) = e.code() {
            return ActionError::Aws {
                operation,
                code: code.to_string(),
                message: e.message().unwrap_or("(no message)").to_string(),
            };
        }
    }
    ActionError::AwsTransport {
        operation,
        detail: DisplayErrorContext(&err).to_string(),
    }
}
