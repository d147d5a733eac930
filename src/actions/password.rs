//! Temporary passwords that satisfy an account's password policy.

use rand::Rng;
use rand::seq::SliceRandom;

/// The parts of an IAM password policy a generated password must meet.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub min_length: usize,
    pub uppercase: bool,
    pub lowercase: bool,
    pub numbers: bool,
    pub symbols: bool,
}

impl Policy {
    /// AWS's default when an account sets none: at least 8 characters and three of
    /// upper case, lower case, numbers and symbols. We always use all four.
    pub fn aws_default() -> Policy {
        Policy {
            min_length: 8,
            uppercase: true,
            lowercase: true,
            numbers: true,
            symbols: true,
        }
    }
}

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
/// Symbols IAM accepts in passwords.
const SYMBOLS: &[u8] = b"!@#$%^&*()_+-=[]{}|";

/// A password of at least 20 characters (or the policy's minimum, if larger, up to
/// IAM's maximum of 128) with at least one character of every class.
pub fn generate(policy: &Policy) -> String {
    let mut rng = rand::rng();
    let len = policy.min_length.clamp(20, 128);
    let classes = [UPPER, LOWER, DIGITS, SYMBOLS];
    let mut chars: Vec<u8> = classes.iter().map(|c| c[rng.random_range(0..c.len())]).collect();
    let all: Vec<u8> = classes.concat();
    while chars.len() < len {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8_lossy(&chars).into_owned()
}

/// The account's password policy, or AWS's default when the account has none.
pub async fn account_policy(iam: &aws_sdk_iam::Client) -> Result<Policy, super::ActionError> {
    match iam.get_account_password_policy().send().await {
        Ok(out) => {
            let default = Policy::aws_default();
            Ok(match out.password_policy() {
                Some(p) => Policy {
                    min_length: p
                        .minimum_password_length()
                        .map_or(default.min_length, |n| n.max(0) as usize),
                    uppercase: p.require_uppercase_characters(),
                    lowercase: p.require_lowercase_characters(),
                    numbers: p.require_numbers(),
                    symbols: p.require_symbols(),
                },
                None => default,
            })
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            Ok(Policy::aws_default())
        }
        Err(e) => Err(super::context::aws_error("GetAccountPasswordPolicy", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfies(p: &str, policy: &Policy) -> bool {
        p.chars().count() >= policy.min_length
            && (!policy.uppercase || p.chars().any(|c| c.is_ascii_uppercase()))
            && (!policy.lowercase || p.chars().any(|c| c.is_ascii_lowercase()))
            && (!policy.numbers || p.chars().any(|c| c.is_ascii_digit()))
            && (!policy.symbols || p.bytes().any(|b| SYMBOLS.contains(&b)))
    }

    #[test]
    fn generated_passwords_meet_the_default_policy() {
        for _ in 0..200 {
            assert!(satisfies(
                &generate(&Policy::aws_default()),
                &Policy::aws_default()
            ));
        }
    }

    #[test]
    fn long_minimum_lengths_are_honoured() {
        let policy = Policy {
            min_length: 40,
            ..Policy::aws_default()
        };
        let p = generate(&policy);
        assert_eq!(p.chars().count(), 40);
        assert!(satisfies(&p, &policy));
    }

    #[test]
    fn two_passwords_differ() {
        assert_ne!(generate(&Policy::aws_default()), generate(&Policy::aws_default()));
    }
}
