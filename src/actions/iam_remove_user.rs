//! `aws.iam.remove_user`: the complete teardown of an IAM user, locking them out first.
//!
//! `DeleteUser` fails with `DeleteConflict` while anything is attached to the user, so
//! everything goes first, in this order: login profile, access keys, signing
//! certificates, SSH public keys, service-specific credentials, MFA devices (deactivate,
//! then delete virtual ones), inline policies, managed policies, group memberships, and
//! finally the user. An inventory is taken first (every list call paginates); a failed
//! step reports what was removed and what is left, and a re-run continues from there.

use aws_sdk_iam::error::ProvideErrorMetadata;
use serde_json::{Value, json};

use super::context::aws_error;
use super::iam::{is_missing, retried_error, with_retries};
use super::{
    Action, ActionError, ActionResult, ActionSpec, Context, InputSpec, InputType, Inputs, OutputField, Plan,
};

pub struct RemoveUser;

static SPEC: ActionSpec = ActionSpec {
    name: "aws.iam.remove_user",
    summary: "Remove an IAM user completely: credentials, devices, policies, groups, then the user.",
    doc: "Lock-out-first teardown. Lists everything attached to the user, removes it in an order DeleteUser accepts, and reports each step. Re-running on a removed user is `changed: false`. A call the endpoint does not support (e.g. ListServiceSpecificCredentials on some emulators) is skipped and reported in `skipped`.",
    inputs: &[InputSpec {
        name: "user_name",
        ty: InputType::String,
        required: true,
        doc: "the user to remove",
        secret: false,
    }],
    output: &[
        super::iam::USER_NAME_OUT,
        OutputField {
            name: "changed",
            doc: "whether anything was removed",
            secret: false,
        },
        OutputField {
            name: "removed",
            doc: "map of step to the items removed (login_profile, access_keys, …, user)",
            secret: false,
        },
        OutputField {
            name: "skipped",
            doc: "steps that could not be checked on this endpoint, and why",
            secret: false,
        },
        OutputField {
            name: "summary",
            doc: "one sentence: what was removed, or that nothing was left",
            secret: false,
        },
    ],
    mutates: true,
    permissions: &[
        "iam:GetUser",
        "iam:DeleteLoginProfile",
        "iam:ListAccessKeys",
        "iam:DeleteAccessKey",
        "iam:ListSigningCertificates",
        "iam:DeleteSigningCertificate",
        "iam:ListSSHPublicKeys",
        "iam:DeleteSSHPublicKey",
        "iam:ListServiceSpecificCredentials",
        "iam:DeleteServiceSpecificCredential",
        "iam:ListMFADevices",
        "iam:DeactivateMFADevice",
        "iam:DeleteVirtualMFADevice",
        "iam:ListUserPolicies",
        "iam:DeleteUserPolicy",
        "iam:ListAttachedUserPolicies",
        "iam:DetachUserPolicy",
        "iam:ListGroupsForUser",
        "iam:RemoveUserFromGroup",
        "iam:DeleteUser",
        "iam:GetLoginProfile",
    ],
};

/// The teardown's steps, in the order they must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    LoginProfile,
    AccessKeys,
    SigningCertificates,
    SshPublicKeys,
    ServiceCredentials,
    MfaDevices,
    InlinePolicies,
    ManagedPolicies,
    Groups,
    User,
}

pub const ORDER: [Step; 10] = [
    Step::LoginProfile,
    Step::AccessKeys,
    Step::SigningCertificates,
    Step::SshPublicKeys,
    Step::ServiceCredentials,
    Step::MfaDevices,
    Step::InlinePolicies,
    Step::ManagedPolicies,
    Step::Groups,
    Step::User,
];

impl Step {
    pub fn key(self) -> &'static str {
        match self {
            Step::LoginProfile => "login_profile",
            Step::AccessKeys => "access_keys",
            Step::SigningCertificates => "signing_certificates",
            Step::SshPublicKeys => "ssh_public_keys",
            Step::ServiceCredentials => "service_specific_credentials",
            Step::MfaDevices => "mfa_devices",
            Step::InlinePolicies => "inline_policies",
            Step::ManagedPolicies => "managed_policies",
            Step::Groups => "groups",
            Step::User => "user",
        }
    }

    fn label(self, n: usize) -> String {
        let (one, many) = match self {
            Step::LoginProfile => ("login profile", "login profiles"),
            Step::AccessKeys => ("access key", "access keys"),
            Step::SigningCertificates => ("signing certificate", "signing certificates"),
            Step::SshPublicKeys => ("SSH public key", "SSH public keys"),
            Step::ServiceCredentials => ("service-specific credential", "service-specific credentials"),
            Step::MfaDevices => ("MFA device", "MFA devices"),
            Step::InlinePolicies => ("inline policy", "inline policies"),
            Step::ManagedPolicies => ("managed policy", "managed policies"),
            Step::Groups => ("group membership", "group memberships"),
            Step::User => ("user", "users"),
        };
        if n == 1 { one.into() } else { format!("{n} {many}") }
    }
}

/// What is attached to the user, per step.
pub type Inventory = Vec<(Step, Vec<String>)>;

/// Describes items per step: `login profile, 2 access keys (AKIA1, AKIA2), group membership (devs)`.
pub fn describe(items: &Inventory) -> String {
    let parts: Vec<String> = items
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(step, v)| match step {
            Step::LoginProfile | Step::User => step.label(v.len()),
            _ => format!("{} ({})", step.label(v.len()), v.join(", ")),
        })
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// Runs `remove` for every item, step by step in [`ORDER`]. On the first failure,
/// returns what was removed and what is left (the rest of the inventory).
pub async fn drive<F, Fut>(
    inventory: &Inventory,
    mut remove: F,
) -> Result<Inventory, (Step, String, ActionError, Inventory, Inventory)>
where
    F: FnMut(Step, String) -> Fut,
    Fut: std::future::Future<Output = Result<bool, ActionError>>,
{
    let mut removed: Inventory = Vec::new();
    for step in ORDER {
        let items = inventory
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut done = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match remove(step, item.clone()).await {
                Ok(true) => done.push(item.clone()),
                Ok(false) => {}
                Err(e) => {
                    removed.push((step, done));
                    let mut left: Inventory = vec![(step, items[i..].to_vec())];
                    let later = ORDER.iter().skip_while(|s| **s != step).skip(1);
                    for s in later {
                        if let Some((_, v)) = inventory.iter().find(|(x, _)| x == s) {
                            left.push((*s, v.clone()));
                        }
                    }
                    return Err((step, item.clone(), e, removed, left));
                }
            }
        }
        removed.push((step, done));
    }
    Ok(removed)
}

fn skip_unsupported<E: ProvideErrorMetadata, R>(err: &aws_sdk_iam::error::SdkError<E, R>) -> bool {
    // An emulator without the call answers HTTP 500 with no IAM error code (moto does
    // for ListServiceSpecificCredentials); real IAM failures carry a code.
    matches!(err, aws_sdk_iam::error::SdkError::ServiceError(_))
        && err
            .code()
            .is_none_or(|c| c == "InternalFailure" || c == "NotImplemented")
}

/// Lists everything attached to `user`; `None` when the user does not exist.
async fn inventory(
    iam: &aws_sdk_iam::Client,
    user: &str,
    skipped: &mut Vec<String>,
) -> Result<Option<Inventory>, ActionError> {
    match iam.get_user().user_name(user).send().await {
        Ok(_) => {}
        Err(e) if is_missing(&e) => return Ok(None),
        Err(e) => return Err(aws_error("GetUser", e)),
    }
    let mut inv: Inventory = Vec::new();
    let login = match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => vec!["console password".to_string()],
        Err(e) if is_missing(&e) => vec![],
        Err(e) => return Err(aws_error("GetLoginProfile", e)),
    };
    inv.push((Step::LoginProfile, login));
    let keys = super::iam_list_access_keys::list(iam, user).await?;
    inv.push((
        Step::AccessKeys,
        keys.iter()
            .filter_map(|k| k["access_key_id"].as_str().map(str::to_string))
            .collect(),
    ));

    let mut certs = Vec::new();
    let mut pages = iam
        .list_signing_certificates()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        certs.extend(
            page.map_err(|e| aws_error("ListSigningCertificates", e))?
                .certificates()
                .iter()
                .map(|c| c.certificate_id().to_string()),
        );
    }
    inv.push((Step::SigningCertificates, certs));

    let mut ssh = Vec::new();
    let mut pages = iam.list_ssh_public_keys().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        ssh.extend(
            page.map_err(|e| aws_error("ListSSHPublicKeys", e))?
                .ssh_public_keys()
                .iter()
                .map(|k| k.ssh_public_key_id().to_string()),
        );
    }
    inv.push((Step::SshPublicKeys, ssh));

    let service = match iam
        .list_service_specific_credentials()
        .user_name(user)
        .send()
        .await
    {
        Ok(out) => out
            .service_specific_credentials()
            .iter()
            .map(|c| c.service_specific_credential_id().to_string())
            .collect(),
        Err(e) if skip_unsupported(&e) => {
            skipped.push(format!(
                "service-specific credentials: ListServiceSpecificCredentials is not supported by this endpoint ({}); none could be checked",
                e.code().unwrap_or("HTTP 500, no error code")
            ));
            vec![]
        }
        Err(e) => return Err(aws_error("ListServiceSpecificCredentials", e)),
    };
    inv.push((Step::ServiceCredentials, service));

    let mut mfa = Vec::new();
    let mut pages = iam.list_mfa_devices().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        mfa.extend(
            page.map_err(|e| aws_error("ListMFADevices", e))?
                .mfa_devices()
                .iter()
                .map(|d| d.serial_number().to_string()),
        );
    }
    inv.push((Step::MfaDevices, mfa));

    let mut inline = Vec::new();
    let mut pages = iam.list_user_policies().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        inline.extend(
            page.map_err(|e| aws_error("ListUserPolicies", e))?
                .policy_names()
                .iter()
                .cloned(),
        );
    }
    inv.push((Step::InlinePolicies, inline));

    let mut managed = Vec::new();
    let mut pages = iam
        .list_attached_user_policies()
        .user_name(user)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        managed.extend(
            page.map_err(|e| aws_error("ListAttachedUserPolicies", e))?
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
    }
    inv.push((Step::ManagedPolicies, managed));
    inv.push((
        Step::Groups,
        super::iam_list_groups_for_user::names(iam, user).await?,
    ));
    inv.push((Step::User, vec![user.to_string()]));
    Ok(Some(inv))
}

/// Removes one item; `Ok(false)` when it was already gone.
async fn remove_one(
    iam: &aws_sdk_iam::Client,
    user: &str,
    step: Step,
    item: &str,
) -> Result<bool, ActionError> {
    macro_rules! gone_ok {
        ($op:literal, $call:expr) => {
            match with_retries($op, || $call).await {
                Ok(_) => Ok(true),
                Err(e) if is_missing(&e) => Ok(false),
                Err(e) => Err(retried_error($op, e)),
            }
        };
    }
    match step {
        Step::LoginProfile => gone_ok!(
            "DeleteLoginProfile",
            iam.delete_login_profile().user_name(user).send()
        ),
        Step::AccessKeys => gone_ok!(
            "DeleteAccessKey",
            iam.delete_access_key().user_name(user).access_key_id(item).send()
        ),
        Step::SigningCertificates => {
            gone_ok!(
                "DeleteSigningCertificate",
                iam.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(item)
                    .send()
            )
        }
        Step::SshPublicKeys => {
            gone_ok!(
                "DeleteSSHPublicKey",
                iam.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(item)
                    .send()
            )
        }
        Step::ServiceCredentials => gone_ok!(
            "DeleteServiceSpecificCredential",
            iam.delete_service_specific_credential()
                .user_name(user)
                .service_specific_credential_id(item)
                .send()
        ),
        Step::MfaDevices => {
            let deactivated: Result<bool, ActionError> = gone_ok!(
                "DeactivateMFADevice",
                iam.deactivate_mfa_device()
                    .user_name(user)
                    .serial_number(item)
                    .send()
            );
            deactivated?;
            // Hardware devices are only deactivated; virtual ones (ARN serials) are deleted.
            if item.starts_with("arn:") {
                gone_ok!(
                    "DeleteVirtualMFADevice",
                    iam.delete_virtual_mfa_device().serial_number(item).send()
                )
            } else {
                Ok(true)
            }
        }
        Step::InlinePolicies => gone_ok!(
            "DeleteUserPolicy",
            iam.delete_user_policy().user_name(user).policy_name(item).send()
        ),
        Step::ManagedPolicies => gone_ok!(
            "DetachUserPolicy",
            iam.detach_user_policy().user_name(user).policy_arn(item).send()
        ),
        Step::Groups => gone_ok!(
            "RemoveUserFromGroup",
            iam.remove_user_from_group()
                .user_name(user)
                .group_name(item)
                .send()
        ),
        Step::User => gone_ok!("DeleteUser", iam.delete_user().user_name(user).send()),
    }
}

fn as_map(inv: &Inventory) -> Value {
    Value::Object(inv.iter().map(|(s, v)| (s.key().to_string(), json!(v))).collect())
}

#[async_trait::async_trait]
impl Action for RemoveUser {
    fn spec(&self) -> &'static ActionSpec {
        &SPEC
    }

    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let mut skipped = Vec::new();
        let Some(inv) = inventory(&iam, user, &mut skipped).await? else {
            return Ok(json!({
                "user_name": user, "changed": false, "removed": {}, "skipped": skipped,
                "summary": format!("nothing was left to remove: user {user} does not exist"),
            }));
        };
        match drive(&inv, |step, item| {
            let iam = iam.clone();
            async move { remove_one(&iam, user, step, &item).await }
        })
        .await
        {
            Ok(removed) => {
                let changed = removed.iter().any(|(_, v)| !v.is_empty());
                Ok(json!({
                    "user_name": user,
                    "changed": changed,
                    "removed": as_map(&removed),
                    "skipped": skipped,
                    "summary": format!("removed {}", describe(&removed)),
                }))
            }
            Err((step, item, cause, removed, left)) => Err(ActionError::Teardown {
                user: user.to_string(),
                step: step.key(),
                item,
                cause: Box::new(cause),
                removed: describe(&removed),
                left: describe(&left),
            }),
        }
    }

    async fn plan(&self, ctx: &Context, inputs: &Inputs) -> Result<Plan, ActionError> {
        let iam = ctx.iam().await;
        let user = inputs.required_str("user_name");
        let mut skipped = Vec::new();
        let inv = inventory(&iam, user, &mut skipped).await?;
        let (change, changed, map) = match &inv {
            None => (format!("none: user {user} does not exist"), false, json!({})),
            Some(inv) => (format!("remove {}", describe(inv)), true, as_map(inv)),
        };
        let mut checks = vec![format!(
            "inventory: {}",
            inv.as_ref().map_or("user not found".into(), describe)
        )];
        checks.extend(skipped.iter().cloned());
        Ok(Plan {
            change: change.clone(),
            changed,
            checks,
            fails: None,
            output: json!({ "user_name": user, "removed": map, "skipped": skipped, "summary": change }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn messy() -> Inventory {
        vec![
            // Deliberately out of order: the driver, not the inventory, decides the order.
            (Step::User, vec!["bob".into()]),
            (Step::Groups, vec!["devs".into(), "ops".into()]),
            (
                Step::ManagedPolicies,
                vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            ),
            (Step::InlinePolicies, vec!["inline".into()]),
            (Step::MfaDevices, vec!["arn:aws:iam::1:mfa/bob".into()]),
            (Step::ServiceCredentials, vec![]),
            (Step::SshPublicKeys, vec!["APKA1".into()]),
            (Step::SigningCertificates, vec!["CERT1".into()]),
            (Step::AccessKeys, vec!["AKIA1".into(), "AKIA2".into()]),
            (Step::LoginProfile, vec!["console password".into()]),
        ]
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn teardown_locks_out_first_and_deletes_the_user_last() {
        let calls = Mutex::new(Vec::new());
        let removed = block_on(drive(&messy(), |step, item| {
            calls.lock().unwrap().push((step.key(), item));
            async { Ok(true) }
        }))
        .unwrap();
        let order: Vec<(&str, String)> = calls.into_inner().unwrap();
        let steps: Vec<&str> = order.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            steps,
            vec![
                "login_profile",
                "access_keys",
                "access_keys",
                "signing_certificates",
                "ssh_public_keys",
                "mfa_devices",
                "inline_policies",
                "managed_policies",
                "groups",
                "groups",
                "user",
            ]
        );
        assert_eq!(order.last().unwrap().1, "bob");
        assert_eq!(
            describe(&removed),
            "login profile, 2 access keys (AKIA1, AKIA2), signing certificate (CERT1), SSH public key (APKA1), MFA device (arn:aws:iam::1:mfa/bob), inline policy (inline), managed policy (arn:aws:iam::aws:policy/ReadOnlyAccess), 2 group memberships (devs, ops), user"
        );
    }

    #[test]
    fn a_failed_step_reports_what_was_removed_and_what_is_left() {
        let err = block_on(drive(&messy(), |step, item| async move {
            if step == Step::AccessKeys && item == "AKIA2" {
                Err(ActionError::Aws {
                    operation: "DeleteAccessKey",
                    code: "AccessDenied".into(),
                    message: "no".into(),
                })
            } else {
                Ok(true)
            }
        }))
        .unwrap_err();
        let (step, item, cause, removed, left) = err;
        assert_eq!(
            (step, item.as_str(), cause.code()),
            (Step::AccessKeys, "AKIA2", Some("AccessDenied"))
        );
        assert_eq!(describe(&removed), "login profile, access key (AKIA1)");
        assert!(
            describe(&left).starts_with("access key (AKIA2), signing certificate (CERT1)"),
            "{}",
            describe(&left)
        );
        assert!(describe(&left).ends_with("user"));
    }

    #[test]
    fn items_already_gone_are_not_counted_as_removed() {
        let removed = block_on(drive(&messy(), |step, _| async move { Ok(step == Step::User) })).unwrap();
        assert_eq!(describe(&removed), "user");
    }
}
