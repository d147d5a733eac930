//! What an IAM policy document grants, as far as the least-privilege guard cares:
//! does any Allow statement hand out everything, or enough of IAM for the holder to
//! grant itself everything? Pure JSON inspection; no AWS calls.

use serde_json::Value;

/// IAM actions that let their holder grant itself more. A *wildcard* that covers one
/// of these is as good as administrator access; an explicit grant of one is a
/// deliberate choice and is left to the deny/allow lists.
const ESCALATION: &[&str] = &[
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AddUserToGroup",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:PassRole",
];

fn as_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// IAM's pattern match: `*` any run, `?` one character, case-insensitive.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether a Resource pattern can name IAM users, groups, roles or policies.
fn reaches_iam(resource: &str) -> bool {
    let r = resource.to_lowercase();
    r == "*"
        || [
            "arn:aws:iam::1:user/x",
            "arn:aws:iam::1:role/x",
            "arn:aws:iam::1:policy/x",
        ]
        .iter()
        .any(|arn| glob(&r, arn))
        || r.starts_with("arn:aws:iam:")
}

/// The first grant in `document`'s Allow statements that amounts to administrator
/// access, described for an error message; `None` when there is none.
///
/// Refused: `"Action": "*"` (or `*:*`) on `"Resource": "*"`; `iam:*`; any other
/// wildcard action that covers a privilege-escalation action such as
/// `iam:AttachUserPolicy` (`iam:Attach*`, `iam:*Policy*`); and `NotAction` in an Allow,
/// which grants every action not listed. Only statements whose resources can reach IAM
/// count (`*`, `arn:aws:iam:…`, or `NotResource`), so `s3:*` on one bucket is fine.
pub fn wildcard_grant(document: &Value) -> Option<String> {
    let statements = match document.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return None,
    };
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let resources = as_list(s.get("Resource"));
        let everywhere = resources.iter().any(|r| r == "*") || s.get("NotResource").is_some();
        if !everywhere && !resources.iter().any(|r| reaches_iam(r)) {
            continue;
        }
        if s.get("NotAction").is_some() {
            return Some(
                "every action except those listed under \"NotAction\" (an Allow with NotAction is close to full administrator access)"
                    .into(),
            );
        }
        for a in as_list(s.get("Action")) {
            if a.chars().all(|c| matches!(c, '*' | '?' | ':')) {
                return Some(if everywhere {
                    format!("\"Action\": \"{a}\" on \"Resource\": \"*\" (full administrator access)")
                } else {
                    format!("\"Action\": \"{a}\" on IAM resources (full control of IAM)")
                });
            }
            if a.eq_ignore_ascii_case("iam:*") {
                return Some("\"iam:*\" (full control of IAM, enough to grant itself anything)".into());
            }
            if a.contains(['*', '?'])
                && let Some(covered) = ESCALATION.iter().find(|e| glob(&a, e))
            {
                return Some(format!(
                    "\"{a}\", which covers {covered} (enough to grant itself anything)"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allow(action: Value, resource: &str) -> Value {
        json!({"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob("iam:Attach*", "iam:AttachUserPolicy"));
        assert!(glob("IAM:*policy*", "iam:PutUserPolicy"));
        assert!(glob("iam:?ttachUserPolicy", "iam:AttachUserPolicy"));
        assert!(!glob("iam:Get*", "iam:AttachUserPolicy"));
        assert!(!glob("s3:*", "iam:PassRole"));
    }

    #[test]
    fn full_wildcards_are_administrator_access() {
        for action in ["*", "*:*"] {
            let found = wildcard_grant(&allow(json!(action), "*")).unwrap();
            assert!(found.contains("full administrator access"), "{found}");
        }
        let iam_all =
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:Get*", "IAM:*"], "Resource": "arn:x"}});
        assert!(
            wildcard_grant(&iam_all).is_none(),
            "a resource outside IAM cannot be escalated through"
        );
        let iam_all = allow(json!(["s3:Get*", "IAM:*"]), "*");
        assert!(wildcard_grant(&iam_all).unwrap().contains("iam:*"));
    }

    #[test]
    fn wildcards_covering_escalation_actions_are_refused() {
        let found = wildcard_grant(&allow(json!("iam:Attach*"), "*")).unwrap();
        assert_eq!(
            found,
            "\"iam:Attach*\", which covers iam:AttachUserPolicy (enough to grant itself anything)"
        );
        assert!(wildcard_grant(&allow(json!("iam:*Policy*"), "arn:aws:iam::123456789012:user/*")).is_some());
        assert!(wildcard_grant(&allow(json!("iam:Get*"), "*")).is_none());
        assert!(wildcard_grant(&allow(json!("iam:AttachUserPolicy"), "*")).is_none());
    }

    #[test]
    fn not_action_in_an_allow_is_refused() {
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}]});
        assert!(wildcard_grant(&doc).unwrap().contains("NotAction"));
        let scoped = json!({"Statement": [{"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "arn:aws:s3:::logs/*"}]});
        assert!(wildcard_grant(&scoped).is_none());
    }

    #[test]
    fn deny_statements_and_narrow_grants_pass() {
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
        assert_eq!(wildcard_grant(&deny), None);
        assert_eq!(wildcard_grant(&allow(json!("iam:ChangePassword"), "*")), None);
        assert_eq!(
            wildcard_grant(&allow(json!("s3:*"), "arn:aws:s3:::bucket/*")),
            None
        );
    }
}
