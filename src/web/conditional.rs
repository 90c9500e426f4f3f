//! Conditional requests (RFC 9110 §13): whether a `GET` that names what the client already
//! has may be answered `304 Not Modified`. The calendar feeds and the cached pages answer the
//! same way.

use axum::http::{header, HeaderMap};
use chrono::{DateTime, Utc};

/// True if the request's `If-None-Match` names `etag` (or is `*`), or, when it sends none,
/// its `If-Modified-Since` is not before `last_modified`.
pub fn not_modified(headers: &HeaderMap, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
    match headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t == etag || t.strip_prefix("W/") == Some(etag)
        }),
        None => last_modified.is_some_and(|modified| {
            headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
                .is_some_and(|since| modified.timestamp() <= since.timestamp())
        }),
    }
}
