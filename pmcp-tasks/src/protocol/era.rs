//! The one place where a request's era is decided.

use super::error::Error;
use super::params::RequestMeta;
use super::session::Session;
use crate::domain::Era;
use serde_json::Value;

/// The protocol versions served: the two Tasks eras and the earlier
/// versions clients still offer.
pub const SUPPORTED_PROTOCOL_VERSIONS: [&str; 5] = [
    "2026-07-28",
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// The era a request speaks, and whether it declared the Tasks extension
/// (which only 2026-07-28 requests do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestEra {
    pub(crate) era: Era,
    pub(crate) tasks_extension: bool,
}

/// The request's own `_meta` protocol version (2026-07-28 requests are
/// stateless and carry it), else the version its connection negotiated at
/// `initialize`, else 2025-11-25. A version this server does not speak is
/// refused.
pub(crate) fn decide(meta: &RequestMeta, session: &Session) -> Result<RequestEra, Error> {
    let era = match &meta.protocol_version {
        None => session
            .negotiated()
            .map_or(Era::V2025_11_25, |v| Era::from_protocol_version(&v)),
        Some(Value::String(v)) if SUPPORTED_PROTOCOL_VERSIONS.contains(&v.as_str()) => {
            Era::from_protocol_version(v)
        }
        Some(other) => {
            let requested = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            return Err(Error::UnsupportedVersion(requested));
        }
    };
    Ok(RequestEra {
        era,
        tasks_extension: meta.tasks_extension,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(version: Option<Value>) -> RequestMeta {
        RequestMeta {
            protocol_version: version,
            ..RequestMeta::default()
        }
    }

    #[test]
    fn the_request_then_the_session_then_2025_decide() {
        let session = Session::default();
        assert_eq!(decide(&meta(None), &session).unwrap().era, Era::V2025_11_25);
        session.set_negotiated("2026-07-28".into());
        assert_eq!(decide(&meta(None), &session).unwrap().era, Era::V2026_07_28);
        let asked = meta(Some(json!("2025-11-25")));
        assert_eq!(decide(&asked, &session).unwrap().era, Era::V2025_11_25);
        for unknown in [json!("2099-01-01"), json!(7)] {
            assert!(matches!(
                decide(&meta(Some(unknown)), &session),
                Err(Error::UnsupportedVersion(_))
            ));
        }
    }
}
