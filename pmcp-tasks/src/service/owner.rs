//! The owner policy: the one place where a caller's authentication becomes
//! the owner of its tasks.

use super::ServiceError;
use pmcp::server::auth::AuthContext;

/// Who owns a task created by a caller without an authenticated subject.
///
/// Authenticated callers always own their tasks by subject
/// (`user:<subject>`). Without authentication the server cannot tell callers
/// apart: over stdio there is exactly one client, so sharing is safe; over
/// HTTP every anonymous caller shares the same tasks, protected only by
/// their unguessable ids (and `tasks/list` shows them all). Configure
/// authentication, or [`AnonymousPolicy::Reject`], for multi-user HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnonymousPolicy {
    /// Every anonymous caller is owner `anon:<name>`.
    Shared(String),
    /// Anonymous task requests are refused with `-32003`.
    Reject,
}

impl Default for AnonymousPolicy {
    fn default() -> Self {
        AnonymousPolicy::Shared("local".into())
    }
}

/// The owner of a caller's tasks: the string the store compares whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Owner(String);

impl Owner {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The owner a stored task has.
    pub(crate) fn of(record: &crate::domain::TaskRecord) -> Owner {
        Owner(record.owner.clone())
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Maps callers to owners.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnerPolicy {
    anonymous: AnonymousPolicy,
}

impl OwnerPolicy {
    pub(crate) fn new(anonymous: AnonymousPolicy) -> Self {
        OwnerPolicy { anonymous }
    }

    /// The owner of the caller's tasks: `user:<subject>` when authenticated,
    /// else what the anonymous policy says.
    pub(crate) fn owner(&self, auth: Option<&AuthContext>) -> Result<Owner, ServiceError> {
        match auth {
            Some(a) if a.authenticated && !a.subject.is_empty() => {
                Ok(Owner(format!("user:{}", a.subject)))
            }
            _ => match &self.anonymous {
                AnonymousPolicy::Shared(name) => Ok(Owner(format!("anon:{name}"))),
                AnonymousPolicy::Reject => Err(ServiceError::AuthenticationRequired),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(subject: &str, authenticated: bool) -> AuthContext {
        let mut a = AuthContext::new(subject);
        a.authenticated = authenticated;
        a
    }

    #[test]
    fn subjects_own_by_name_and_anonymous_callers_follow_the_policy() {
        let shared = OwnerPolicy::default();
        assert_eq!(
            shared.owner(Some(&auth("ana", true))).unwrap().as_str(),
            "user:ana"
        );
        assert_eq!(shared.owner(None).unwrap().as_str(), "anon:local");
        assert_eq!(
            shared.owner(Some(&auth("ana", false))).unwrap().as_str(),
            "anon:local",
            "an unauthenticated subject is anonymous"
        );
        let reject = OwnerPolicy::new(AnonymousPolicy::Reject);
        assert_eq!(
            reject.owner(None),
            Err(ServiceError::AuthenticationRequired)
        );
        assert_eq!(
            reject.owner(Some(&auth("", true))),
            Err(ServiceError::AuthenticationRequired)
        );
    }
}
