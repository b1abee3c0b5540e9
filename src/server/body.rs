//! Reading request bodies: JSON only, at most 1 MiB, rejected before reading when
//! `Content-Length` already says too much and cut off while reading when it is absent or lies.
//!
//! Error messages name the field and what was expected, never the value sent: the value of
//! a wrongly typed field may well be a secret.

use std::io::Read;

use rouille::Request;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::error::ApiError;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// Parses the request body as JSON into `T`.
pub fn read_json<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = read_bounded(req)?;
    parse_json(&bytes)
}

/// Like [`read_json`], but an absent or empty body is `None`.
pub fn read_optional_json<T: DeserializeOwned>(req: &Request) -> Result<Option<T>, ApiError> {
    let bytes = read_raw(req, "application/json")?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    parse_json(&bytes).map(Some)
}

fn read_bounded(req: &Request) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let buf = read_raw(req, "application/json")?;
    if buf.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "request body is empty; expected a JSON object".into(),
        ));
    }
    Ok(buf)
}

/// Reads at most `MAX_BODY_BYTES` of a body whose media type must be `media` when present.
pub fn read_raw(req: &Request, media_type: &str) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    if let Some(ct) = req.header("Content-Type") {
        let media = ct.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(media_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
    } else if req
        .header("Content-Length")
        .is_some_and(|l| l.trim() != "0")
        || req.header("Transfer-Encoding").is_some()
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    if let Some(len) = req.header("Content-Length") {
        let len: u64 = len
            .trim()
            .parse()
            .map_err(|_| ApiError::BadRequest("invalid Content-Length header".into()))?;
        if len > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
    }
    let mut buf = Zeroizing::new(Vec::new());
    if let Some(data) = req.data() {
        data.take(MAX_BODY_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|_| ApiError::BadRequest("could not read the request body".into()))?;
    }
    if buf.len() as u64 > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(buf)
}

/// Deserializes `bytes`, turning serde's messages into ones that never echo input.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(describe(e.inner(), &path))
    })?;
    de.end()
        .map_err(|e| ApiError::BadRequest(describe(&e, ".")))?;
    Ok(value)
}

fn describe(e: &serde_json::Error, path: &str) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof => format!("malformed JSON at {at}"),
        Category::Io => "could not read the request body".into(),
        Category::Data => {
            let msg = e.to_string();
            if let Some(rest) = msg.strip_prefix("unknown field `") {
                let field: String = rest
                    .split('`')
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect();
                format!("unknown field `{field}`")
            } else if let Some(rest) = msg.strip_prefix("missing field `") {
                format!("missing field `{}`", rest.split('`').next().unwrap_or(""))
            } else if let Some(expected) = msg.split(", expected ").nth(1) {
                // serde writes "invalid type: string \"<input>\", expected X at line ..":
                // keep only what was expected.
                let expected = expected.split(" at line ").next().unwrap_or(expected);
                let field = if path == "." {
                    "body".to_string()
                } else {
                    format!("field `{path}`")
                };
                format!("{field} has the wrong type or value; expected {expected}")
            } else {
                format!("invalid JSON value at {at}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{CreateSecret, Credentials};

    fn err_of<T: DeserializeOwned>(json: &str) -> String {
        match parse_json::<T>(json.as_bytes()) {
            Err(ApiError::BadRequest(m)) => m,
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => panic!("accepted {json}"),
        }
    }

    #[test]
    fn messages_never_echo_values() {
        let m = err_of::<CreateSecret>(r#"{"name":"n","value":"v","tags":"TOPSECRET"}"#);
        assert!(!m.contains("TOPSECRET"), "{m}");
        assert!(m.contains("tags"), "{m}");
        let m = err_of::<CreateSecret>(r#"{"name":"n","value":"v","tags":["ok", 12345678]}"#);
        assert!(!m.contains("12345678"), "{m}");
        let m = err_of::<Credentials>(r#"{"username":"u","password":"p","extra":"TOPSECRET"}"#);
        assert_eq!(m, "unknown field `extra`");
        let m = err_of::<Credentials>(r#"{"username":"u"}"#);
        assert_eq!(m, "missing field `password`");
        let m = err_of::<Credentials>(r#"{"username":"u","password":"TOPSECRET""#);
        assert!(m.starts_with("malformed JSON"), "{m}");
        let m = err_of::<Credentials>(r#"{"username":"u","password":"p"} trailing"#);
        assert!(m.starts_with("malformed JSON"), "{m}");
        let m = err_of::<Credentials>(r#"["TOPSECRET"]"#);
        assert!(!m.contains("TOPSECRET"), "{m}");
    }
}
