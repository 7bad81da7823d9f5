//! Request ids and the per-request span. Every request gets an id: the caller's
//! `x-request-id` when it is a sensible token, a fresh UUID v4 otherwise. The id is returned in
//! the `x-request-id` response header, carried as a [`RequestId`] request extension for later
//! layers, and printed on every log line of the request through its span.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use tracing::Span;
use tracing::field::Empty;

use super::metrics::UNMATCHED;

/// The header that carries the id both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a client; longer ones are replaced, so ids stay log-friendly.
const MAX_LEN: usize = 128;

/// The id of the request being handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// A request that was given its id and span: the edge layer (mod.rs) runs the rest of the
/// request inside [`Identified::span`] and hands the answer to [`Identified::end`].
pub struct Identified {
    header: HeaderValue,
    pub span: Span,
    started: Instant,
}

impl Identified {
    /// Assigns `req` its id (a [`RequestId`] extension, and the header, so handlers that read
    /// it, like the audit trail, see the id this request was given) and opens its span.
    pub fn begin(req: &mut Request) -> Identified {
        let (id, header) = match req.headers().get(&REQUEST_ID).and_then(accepted) {
            Some((id, value)) => (id, value),
            None => generate(),
        };
        let route = req.extensions().get::<MatchedPath>().cloned();
        // At error level so that the span, and with it the request id, is on every line the
        // filter lets through, whatever LOG_LEVEL is.
        let span = tracing::error_span!(
            "request",
            method = %req.method(),
            route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str),
            request_id = %id,
            model = Empty,
            version = Empty,
            rows = Empty,
            status = Empty,
            latency_ms = Empty,
        );
        req.extensions_mut().insert(RequestId(id));
        req.headers_mut().insert(REQUEST_ID, header.clone());
        Identified {
            header,
            span,
            started: Instant::now(),
        }
    }

    /// Records the status and latency on the span, logs the request's one line, and returns
    /// the id in the answer's header.
    pub fn end(self, mut response: Response) -> Response {
        let status = response.status().as_u16();
        self.span.record("status", status);
        let micros = self.started.elapsed().as_micros() as f64;
        self.span.record("latency_ms", micros / 1e3);
        self.span.in_scope(|| {
            if status >= 500 {
                tracing::warn!("request failed");
            } else {
                tracing::info!("request finished");
            }
        });
        response.headers_mut().insert(REQUEST_ID, self.header);
        response
    }
}

/// A client's id when it is 1 to 128 visible ASCII characters.
fn accepted(value: &HeaderValue) -> Option<(String, HeaderValue)> {
    let text = value.to_str().ok()?;
    let fits =
        !text.is_empty() && text.len() <= MAX_LEN && text.bytes().all(|b| b.is_ascii_graphic());
    fits.then(|| (text.to_string(), value.clone()))
}

fn generate() -> (String, HeaderValue) {
    let id = uuid::Uuid::new_v4().to_string();
    let header = HeaderValue::from_str(&id)
        .unwrap_or_else(|e| unreachable!("a UUID is a valid header value: {e}"));
    (id, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensible_ids_are_kept_and_others_replaced() {
        let keep = HeaderValue::from_static("abc-123_XYZ.7");
        assert_eq!(
            accepted(&keep).map(|(id, _)| id),
            Some("abc-123_XYZ.7".into())
        );
        for bad in ["", "has space", &"x".repeat(MAX_LEN + 1)] {
            let value = HeaderValue::from_str(bad).expect("valid header");
            assert!(accepted(&value).is_none(), "{bad:?}");
        }
        let (id, header) = generate();
        assert_eq!(id.len(), 36);
        assert_eq!(header.to_str().ok(), Some(id.as_str()));
    }
}
