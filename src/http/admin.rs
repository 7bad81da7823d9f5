//! Who may call the model repository API: `Authorization: Bearer <ADMIN_TOKEN>`, compared in
//! constant time; or nobody, with a message saying how to enable it.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::state::AppState;
use crate::config::{Config, ModelControlMode, Secret};

/// The settings of the repository API that handlers need.
#[derive(Debug)]
pub struct RepositoryApi {
    pub access: AdminAccess,
    pub mode: ModelControlMode,
    /// Largest decoded size of one model upload.
    pub max_upload_bytes: usize,
}

#[derive(Debug)]
pub enum AdminAccess {
    /// Callers must present this token.
    Token(Secret),
    /// No token needed: the operator opted in and the server listens on loopback only.
    Open,
    /// No token configured: every call is refused.
    Refused,
}

impl RepositoryApi {
    pub fn from_config(config: &Config) -> RepositoryApi {
        let access = match (&config.admin_token, config.allow_unauthenticated_admin) {
            (Some(token), _) => AdminAccess::Token(token.clone()),
            // `Config::validate` refuses the opt-in on any address but loopback.
            (None, true) if config.host.is_loopback() => AdminAccess::Open,
            (None, _) => AdminAccess::Refused,
        };
        RepositoryApi {
            access,
            mode: config.model_control_mode,
            max_upload_bytes: config.max_upload_bytes,
        }
    }
}

/// Proof that the request may use the repository API; extract it first in admin handlers.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, ApiError> {
        let expected = match &state.repository_api.access {
            AdminAccess::Open => return Ok(Admin),
            AdminAccess::Refused => {
                return Err(ApiError::Forbidden(
                    "the model repository API is disabled: start the server with --admin-token (or ADMIN_TOKEN) and send `Authorization: Bearer <token>`; on a loopback-only server, --allow-unauthenticated-admin opens it without a token".into(),
                ));
            }
            AdminAccess::Token(token) => token,
        };
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::Unauthorized(
                    "the model repository API needs `Authorization: Bearer <ADMIN_TOKEN>`".into(),
                )
            })?;
        if same_secret(presented.trim().as_bytes(), expected.expose().as_bytes()) {
            Ok(Admin)
        } else {
            Err(ApiError::Forbidden("the admin token is not valid".into()))
        }
    }
}

/// Compares two secrets in time independent of where they differ (and of their lengths):
/// both are hashed, and the digests compared with a fold over every byte.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cret", b"s3creT"));
        assert!(!same_secret(b"s3cret", b"s3cret-longer"));
        assert!(!same_secret(b"", b"s3cret"));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        use clap::Parser;
        let config = Config::parse_from(["prediction-api", "--admin-token", "hunter2"]);
        let shown = format!("{config:?} {:?}", RepositoryApi::from_config(&config));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
