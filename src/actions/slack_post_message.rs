//! `slack.post_message` through Slack's Web API `chat.postMessage`.
//!
//! Slack answers HTTP 200 with `ok: false` and an error code for most failures, and
//! HTTP 429 with `Retry-After` when rate limited; both are handled here.

use std::time::Duration;

use serde_json::{Value, json};

use super::Plan;
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField,
};

pub struct PostMessage;

static SPEC: ActionSpec = ActionSpec {
    name: "slack.post_message",
    summary: "Post a message to a Slack channel.",
    doc: "Calls chat.postMessage with the bot token in SLACK_BOT_TOKEN. SLACK_API_URL overrides the API base (default https://slack.com/api). Rate limits (429) are retried after Retry-After, at most 3 times.",
    inputs: &[
        InputSpec {
            name: "channel",
            ty: InputType::String,
            required: true,
            doc: "channel name (#ops) or id (C0123…)",
            secret: false,
        },
        InputSpec {
            name: "text",
            ty: InputType::String,
            required: true,
            doc: "message text (Slack mrkdwn)",
            secret: false,
        },
    ],
    output: &[
        OutputField {
            name: "channel",
            doc: "the channel id Slack posted to",
            secret: false,
        },
        OutputField {
            name: "ts",
            doc: "the message timestamp (its id)",
            secret: false,
        },
        OutputField {
            name: "text",
            doc: "the text sent",
            secret: false,
        },
        OutputField {
            name: "changed",
            doc: "always true: a message was posted",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &["Slack bot scope chat:write"],
};

const METHOD: &str = "chat.postMessage";
const MAX_RETRIES: u32 = 3;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

#[async_trait::async_trait]
impl Action for PostMessage {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let token = std::env::var("SLACK_BOT_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        let token = token.ok_or(ActionError::SlackNotConfigured)?;
        let base = std::env::var("SLACK_API_URL").unwrap_or_else(|_| "https://slack.com/api".into());
        let url = format!("{}/{METHOD}", base.trim_end_matches('/'));
        let text = inputs.required_str("text");
        let body = json!({ "channel": inputs.required_str("channel"), "text": text });
        let http = ctx.http().await?;
        let mut attempt = 0;
        loop {
            let response = http
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .map_err(|e| slack_error("request_failed", Some(e.to_string())))?;
            let status = response.status();
            if status.as_u16() == 429 && attempt < MAX_RETRIES {
                attempt += 1;
                let wait = retry_after(response.headers()).min(MAX_RETRY_WAIT);
                tracing::warn!("Slack rate limited; retrying in {wait:?} ({attempt}/{MAX_RETRIES})");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.as_u16() == 429 {
                return Err(slack_error(
                    "ratelimited",
                    Some(format!("still rate limited after {MAX_RETRIES} retries")),
                ));
            }
            let reply: Value = response
                .json()
                .await
                .map_err(|e| slack_error("invalid_response", Some(format!("HTTP {status}: {e}"))))?;
            if reply["ok"].as_bool() != Some(true) {
                let code = reply["error"].as_str().unwrap_or("unknown_error").to_string();
                let hint = hint_for(&code).map(str::to_string);
                return Err(ActionError::Slack {
                    method: METHOD,
                    code,
                    hint,
                });
            }
            return Ok(json!({
                "channel": reply["channel"].as_str().unwrap_or_default(),
                "ts": reply["ts"].as_str().unwrap_or_default(),
                "text": text,
                "changed": true,
            }));
        }
    }

    async fn plan(&self, _ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        Ok(plan_message(inputs))
    }
}

fn plan_message(inputs: &Inputs) -> Plan {
    let channel = inputs.required_str("channel");
    let text = inputs.required_str("text");
    let unset = std::env::var("SLACK_BOT_TOKEN")
        .map(|t| t.trim().is_empty())
        .unwrap_or(true);
    Plan {
        change: format!("post to {channel}: {text}"),
        changed: true,
        checks: Vec::new(),
        fails: unset.then(|| "SLACK_BOT_TOKEN is not set (Slack is not configured)".to_string()),
        output: json!({ "channel": channel, "ts": "", "text": text }),
    }
}

fn slack_error(code: &str, hint: Option<String>) -> ActionError {
    ActionError::Slack {
        method: METHOD,
        code: code.to_string(),
        hint,
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

fn hint_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "channel_not_found" => "no such channel, or the bot cannot see it; check the channel name or id",
        "not_in_channel" => "invite the bot to the channel first (/invite @your-bot)",
        "invalid_auth" | "not_authed" | "token_revoked" | "account_inactive" => {
            "SLACK_BOT_TOKEN is not a valid bot token"
        }
        "missing_scope" => "the bot token lacks the chat:write scope",
        "msg_too_long" => "the message is longer than Slack allows",
        "no_text" => "the message text is empty",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_defaults_to_one() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_secs(1));
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Duration::from_secs(7));
    }

    #[test]
    fn slack_error_shows_code_and_hint() {
        let e = ActionError::Slack {
            method: METHOD,
            code: "channel_not_found".into(),
            hint: hint_for("channel_not_found").map(str::to_string),
        };
        assert!(
            e.to_string()
                .starts_with("Slack chat.postMessage failed: channel_not_found ("),
            "{e}"
        );
    }
}
