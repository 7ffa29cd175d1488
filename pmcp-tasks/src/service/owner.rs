//! The owner policy: the one place where a caller (its authentication and
//! the connection it came on) becomes the owner of its tasks.

use super::ServiceError;
use pmcp::server::auth::AuthContext;

/// Who owns a task created by a caller without an authenticated identity.
///
/// Authenticated callers always own their tasks by subject
/// (`user:<subject>`), or by OAuth client id when the token has no subject
/// (`client:<id>`). Anonymous callers are told apart by their connection
/// under [`PerConnection`](AnonymousPolicy::PerConnection), the default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AnonymousPolicy {
    /// Each anonymous connection owns its own tasks: the one client of a
    /// stdio process (and in-process calls) is `anon:local`, each HTTP
    /// session is `session:<UUIDv5 of its Mcp-Session-Id>` (one-way, so the
    /// id itself is neither stored nor logged). A request on no session (a
    /// stateless 2026-07-28 HTTP request) cannot be bound to anyone: its
    /// tasks are owned by `stateless` and reached by id only (ids are
    /// UUIDv7 with 74 random bits), and `tasks/list` is refused to it.
    #[default]
    PerConnection,
    /// Every anonymous caller is owner `anon:<name>`: all anonymous HTTP
    /// clients see, list and cancel each other's tasks. Only for a server
    /// with one trusted user; the server logs a warning when built.
    Shared(String),
    /// Anonymous task requests are refused with `-32003`.
    Reject,
}

/// The connection a request came on, as far as owners are concerned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Connection {
    /// The one client of this process: stdio, or a call made in process.
    #[default]
    Local,
    /// An HTTP session, by its `Mcp-Session-Id`.
    HttpSession(String),
    /// A request on no session (stateless HTTP): nobody to bind it to.
    Stateless,
}

/// Who makes a request: its authentication and its connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub(crate) auth: Option<&'a AuthContext>,
    pub(crate) connection: &'a Connection,
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

    /// Whether this owner stands for one requestor. Tasks of stateless
    /// anonymous callers are not bound to anyone, so they are not listed.
    pub(crate) fn is_bound(&self) -> bool {
        self.0 != STATELESS
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const STATELESS: &str = "stateless";

/// A session's owner name: derived from its `Mcp-Session-Id` one way
/// (UUIDv5), so that neither the store nor the logs (which show owners)
/// hold a session id that could be replayed.
fn pseudonym(session_id: &str) -> uuid::Uuid {
    const SESSIONS: uuid::Uuid = uuid::Uuid::from_u128(0x5e55_10e0_7a5c_4d1b_9a0e_6f0a_c0de_0001);
    uuid::Uuid::new_v5(&SESSIONS, session_id.as_bytes())
}

/// Maps callers to owners.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnerPolicy {
    anonymous: AnonymousPolicy,
}

impl OwnerPolicy {
    pub(crate) fn new(anonymous: AnonymousPolicy) -> Self {
        if let AnonymousPolicy::Shared(name) = &anonymous {
            tracing::warn!(
                owner = %format!("anon:{name}"),
                "every anonymous caller shares one owner: anonymous HTTP clients can list, \
                 read and cancel each other's tasks (AnonymousPolicy::Shared)"
            );
        }
        OwnerPolicy { anonymous }
    }

    /// The owner of the caller's tasks: its subject (or OAuth client id)
    /// when authenticated, else what the anonymous policy says.
    pub(crate) fn owner(&self, caller: Caller<'_>) -> Result<Owner, ServiceError> {
        if let Some(auth) = caller.auth.filter(|a| a.authenticated) {
            if !auth.subject.is_empty() {
                return Ok(Owner(format!("user:{}", auth.subject)));
            }
            if let Some(client) = auth.client_id.as_deref().filter(|c| !c.is_empty()) {
                return Ok(Owner(format!("client:{client}")));
            }
        }
        match &self.anonymous {
            AnonymousPolicy::PerConnection => Ok(Owner(match caller.connection {
                Connection::Local => "anon:local".to_owned(),
                Connection::HttpSession(id) => format!("session:{}", pseudonym(id)),
                Connection::Stateless => STATELESS.to_owned(),
            })),
            AnonymousPolicy::Shared(name) => Ok(Owner(format!("anon:{name}"))),
            AnonymousPolicy::Reject => Err(ServiceError::AuthenticationRequired),
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

    fn owner(policy: &OwnerPolicy, auth: Option<&AuthContext>, on: Connection) -> String {
        let caller = Caller {
            auth,
            connection: &on,
        };
        policy.owner(caller).unwrap().0
    }

    #[test]
    fn subjects_then_client_ids_then_connections_own() {
        let policy = OwnerPolicy::default();
        let session = || Connection::HttpSession("s1".into());
        assert_eq!(
            owner(&policy, Some(&auth("ana", true)), session()),
            "user:ana"
        );
        let mut client = auth("", true);
        client.client_id = Some("app-7".into());
        assert_eq!(owner(&policy, Some(&client), session()), "client:app-7");
        let s1 = owner(&policy, Some(&auth("ana", false)), session());
        assert!(
            s1.starts_with("session:"),
            "an unauthenticated subject is anonymous"
        );
        assert!(!s1.contains("s1"), "the session id itself is not kept");
        assert_eq!(
            s1,
            owner(&policy, None, session()),
            "one session, one owner"
        );
        assert_eq!(owner(&policy, None, Connection::Local), "anon:local");
        assert_ne!(
            owner(&policy, None, Connection::HttpSession("s2".into())),
            s1
        );
        let stateless = Owner(owner(&policy, None, Connection::Stateless));
        assert!(!stateless.is_bound());
        assert!(Owner(s1).is_bound());
    }

    #[test]
    fn shared_and_reject_are_explicit_choices() {
        let shared = OwnerPolicy::new(AnonymousPolicy::Shared("team".into()));
        for on in [
            Connection::Local,
            Connection::HttpSession("s".into()),
            Connection::Stateless,
        ] {
            assert_eq!(owner(&shared, None, on), "anon:team");
        }
        let reject = OwnerPolicy::new(AnonymousPolicy::Reject);
        let local = Connection::Local;
        for auth in [None, Some(auth("", true))] {
            let caller = Caller {
                auth: auth.as_ref(),
                connection: &local,
            };
            assert_eq!(
                reject.owner(caller),
                Err(ServiceError::AuthenticationRequired)
            );
        }
    }
}
