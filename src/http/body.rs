//! Request bodies: read under the size limit and parsed so that every failure is an
//! [`ApiError`] with a JSON body, never axum's plain-text rejection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::state::AppState;

/// The raw body and headers, for routes that parse it themselves (V2 binary tensors).
pub struct RawBody {
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let limit = state.max_body_bytes;
        // A body declared larger than the limit is refused before any of it is read, so a
        // client that waits for `100 Continue` is not told to send it.
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let progress = parts.extensions.get::<BodyProgress>().cloned();
        if let Some(progress) = &progress {
            progress.reading();
        }
        let mut bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|e| too_large_or_bad(e, limit))?;
        if let Some(progress) = &progress {
            progress.read();
        }
        if let Some(encoding) = Encoding::of(&parts.headers)? {
            // Decompressing up to the body limit is CPU work and memory: off the async
            // workers, and a few at a time. The permit goes with the work, which runs to its
            // end even when the client leaves and this future is dropped.
            let permit = DECOMPRESSING
                .acquire()
                .await
                .map_err(|e| ApiError::Internal(format!("decompression refused: {e}")))?;
            bytes = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                encoding.decode(&bytes, limit)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("decompression did not finish: {e}")))??;
            // The handlers see the body as if it had been sent uncompressed (Triton's binary
            // header length counts the uncompressed body).
            parts.headers.remove(header::CONTENT_ENCODING);
        }
        Ok(RawBody {
            headers: parts.headers,
            bytes,
        })
    }
}

/// How many bodies are decompressed at once. Each may grow to the body limit however small it
/// came (a few kilobytes of gzip can claim tens of megabytes): the count bounds the memory
/// that decompressing takes at any moment, bombs that end in 413 included.
static DECOMPRESSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Where a request is in reading its body, for the edge to tell a client that had not finished
/// sending (408) from a server that was too slow (504) when the request's time runs out.
#[derive(Debug, Clone, Default)]
pub struct BodyProgress(Arc<AtomicU8>);

impl BodyProgress {
    const READING: u8 = 1;
    const READ: u8 = 2;

    fn reading(&self) {
        self.0.store(Self::READING, Ordering::Relaxed);
    }

    fn read(&self) {
        self.0.store(Self::READ, Ordering::Relaxed);
    }

    /// Whether the handler was still waiting for the body.
    pub fn was_waiting_for_the_body(&self) -> bool {
        self.0.load(Ordering::Relaxed) == Self::READING
    }
}

/// A request body's `Content-Encoding` that the server decodes, as Triton does (tritonclient's
/// `request_compression_algorithm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gzip,
    /// HTTP's `deflate`: zlib-wrapped deflate.
    Deflate,
}

impl Encoding {
    /// The body's encoding: `None` for none or `identity`, 415 for one not decoded here.
    pub fn of(headers: &HeaderMap) -> Result<Option<Encoding>, ApiError> {
        let mut found = None;
        for value in headers.get_all(header::CONTENT_ENCODING) {
            for token in String::from_utf8_lossy(value.as_bytes()).split(',') {
                let encoding = match token.trim().to_ascii_lowercase().as_str() {
                    "" | "identity" => continue,
                    "gzip" | "x-gzip" => Encoding::Gzip,
                    "deflate" => Encoding::Deflate,
                    other => return Err(ApiError::UnsupportedEncoding(other.to_string())),
                };
                if found.replace(encoding).is_some() {
                    return Err(ApiError::UnsupportedEncoding(
                        "more than one encoding".to_string(),
                    ));
                }
            }
        }
        Ok(found)
    }

    /// The decompressed body, refused (413) once it grows past `limit`.
    pub fn decode(self, compressed: &[u8], limit: usize) -> Result<Bytes, ApiError> {
        use std::io::Read;
        let reader: Box<dyn Read + '_> = match self {
            Encoding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(compressed)),
            Encoding::Deflate => Box::new(flate2::read::ZlibDecoder::new(compressed)),
        };
        // Room for what such bodies usually expand to; a body that grows past it is copied
        // into larger buffers, at most twice the limit at the peak.
        let expected = compressed.len().saturating_mul(16).max(64 * 1024);
        let mut out = Vec::with_capacity(expected.min(limit.saturating_add(1)));
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                ApiError::BadRequest(format!("the body could not be decompressed: {e}"))
            })?;
        if out.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        Ok(Bytes::from(out))
    }
}

fn too_large_or_bad(e: axum::Error, limit: usize) -> ApiError {
    // axum reports the limit as a `LengthLimitError` somewhere in the source chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit };
        }
        source = s.source();
    }
    ApiError::BadRequest(format!("could not read the request body: {e}"))
}

/// A JSON body of type `T`. Accepts `application/json` (and `+json` types), no Content-Type,
/// or curl's default form type; anything else is 415.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        SentJson::from_request(req, state)
            .await
            .map(|sent| JsonBody(sent.value))
    }
}

/// A JSON body of type `T` as [`JsonBody`] reads it, with the bytes it was parsed from and the
/// request's headers, for routes that keep the body as sent.
pub struct SentJson<T> {
    pub value: T,
    pub raw: RawBody,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SentJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        check_json_content_type(req.headers())?;
        let mut raw = RawBody::from_request(req, state).await?;
        raw.bytes = without_bom(raw.bytes);
        let value = parse_json(&raw.bytes)?;
        Ok(SentJson { value, raw })
    }
}

/// The Content-Type's media type, without its parameters and lower-cased; empty when there is
/// none (or it is not ASCII text).
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|text| text.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = media_type(headers);
    // curl's `-d` labels a JSON body as a form unless told otherwise: take it as JSON.
    let curl_default = essence == "application/x-www-form-urlencoded";
    if essence == "application/json"
        || essence.ends_with("+json")
        || essence.is_empty()
        || curl_default
    {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            text.to_string(),
            "application/json",
        ))
    }
}

/// The UTF-8 byte order mark, which some clients (PowerShell, editors saving request files)
/// put before a JSON document and which JSON parsers refuse.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A JSON body without its leading byte order mark, sharing its memory. The body itself is
/// cut, not just the text handed to the parser: the audit trail keeps a body as sent, and
/// what it keeps must be the JSON that was read.
pub fn without_bom(body: Bytes) -> Bytes {
    if body.starts_with(BOM) {
        body.slice(BOM.len()..)
    } else {
        body
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "the request body is empty; send a JSON document".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}

#[cfg(test)]
mod encoding_tests {
    use std::io::Write;

    use axum::http::HeaderValue;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("write");
        encoder.finish().expect("finish")
    }

    #[test]
    fn a_compressed_body_is_decoded_under_the_limit() {
        let body = vec![b'7'; 10_000];
        let decoded = Encoding::Gzip
            .decode(&gzip(&body), 10_000)
            .expect("decoded");
        assert_eq!(&decoded[..], &body[..]);
        // Small when compressed, over the limit once decoded.
        let refused = Encoding::Gzip.decode(&gzip(&body), 9_999);
        assert!(matches!(
            refused,
            Err(ApiError::PayloadTooLarge { limit: 9_999 })
        ));
        let garbage = Encoding::Deflate.decode(b"not deflate", 100);
        assert!(matches!(garbage, Err(ApiError::BadRequest(_))));
        // Members one after the other are one body (RFC 1952); bytes after them are not.
        let mut two = gzip(b"[1,");
        two.extend(gzip(b"2]"));
        let decoded = Encoding::Gzip.decode(&two, 100).expect("decoded");
        assert_eq!(&decoded[..], b"[1,2]");
        let mut trailing = gzip(b"[1]");
        trailing.extend_from_slice(b"junk");
        assert!(matches!(
            Encoding::Gzip.decode(&trailing, 100),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn only_gzip_and_deflate_are_decoded() {
        let headers = |value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(value));
            h
        };
        assert_eq!(Encoding::of(&HeaderMap::new()).ok(), Some(None));
        assert_eq!(Encoding::of(&headers("identity")).ok(), Some(None));
        assert_eq!(
            Encoding::of(&headers("GZIP")).ok(),
            Some(Some(Encoding::Gzip))
        );
        assert_eq!(
            Encoding::of(&headers("deflate")).ok(),
            Some(Some(Encoding::Deflate))
        );
        assert!(Encoding::of(&headers("br")).is_err());
        assert!(Encoding::of(&headers("gzip, gzip")).is_err());
    }
}
