//! The one table of actions.

use super::Action;

/// Every action, in catalog order.
pub fn all() -> Vec<Box<dyn Action>> {
    vec![
        Box::new(super::sts_get_caller_identity::GetCallerIdentity),
        Box::new(super::iam_create_user::CreateUser),
        Box::new(super::iam_create_login_profile::CreateLoginProfile),
        Box::new(super::iam_attach_user_policy::AttachUserPolicy),
        Box::new(super::iam_list_attached_user_policies::ListAttachedUserPolicies),
        Box::new(super::iam_get_user::GetUser),
        Box::new(super::iam_list_users::ListUsers),
        Box::new(super::iam_tag_user::TagUser),
        Box::new(super::iam_untag_user::UntagUser),
        Box::new(super::iam_delete_login_profile::DeleteLoginProfile),
        Box::new(super::iam_update_login_profile::UpdateLoginProfile),
        Box::new(super::iam_create_access_key::CreateAccessKey),
        Box::new(super::iam_list_access_keys::ListAccessKeys),
        Box::new(super::iam_update_access_key::UpdateAccessKey),
        Box::new(super::iam_delete_access_key::DeleteAccessKey),
        Box::new(super::iam_detach_user_policy::DetachUserPolicy),
        Box::new(super::iam_put_user_policy::PutUserPolicy),
        Box::new(super::iam_delete_user_policy::DeleteUserPolicy),
        Box::new(super::iam_list_user_policies::ListUserPolicies),
        Box::new(super::iam_get_policy_document::GetPolicyDocument),
        Box::new(super::iam_add_user_to_group::AddUserToGroup),
        Box::new(super::iam_remove_user_from_group::RemoveUserFromGroup),
        Box::new(super::iam_list_groups_for_user::ListGroupsForUser),
        Box::new(super::iam_remove_user::RemoveUser),
        Box::new(super::slack_post_message::PostMessage),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_docs_inputs_docs_and_permissions() {
        for action in all() {
            let spec = action.spec();
            assert!(!spec.summary.is_empty(), "{} has no summary", spec.name);
            assert!(!spec.doc.is_empty(), "{} has no doc", spec.name);
            assert!(!spec.permissions.is_empty(), "{} lists no permissions", spec.name);
            assert!(!spec.output.is_empty(), "{} documents no output", spec.name);
            for input in spec.inputs {
                assert!(!input.doc.is_empty(), "{}.{} has no doc", spec.name, input.name);
            }
        }
    }

    #[test]
    fn action_names_are_unique_and_map_to_rhai_modules() {
        let specs: Vec<_> = all().iter().map(|a| a.spec().name).collect();
        let unique: std::collections::HashSet<_> = specs.iter().collect();
        assert_eq!(unique.len(), specs.len());
        let create = all()
            .into_iter()
            .find(|a| a.spec().name == "aws.iam.create_user")
            .unwrap();
        assert_eq!(create.spec().module_and_function(), ("iam", "create_user"));
    }
}
