//! Building responses: JSON bodies and the headers every response carries.

use rouille::Response;
use serde::Serialize;

/// A JSON response. Everything the API returns may concern secrets or sessions, so nothing
/// is cacheable and nothing may be content-sniffed into another type.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_standard_headers(
            Response::from_data("application/json", bytes).with_status_code(status),
        ),
        Err(_) => with_standard_headers(
            Response::from_data(
                "application/json",
                br#"{"error":"internal","message":"internal server error"}"#.to_vec(),
            )
            .with_status_code(500),
        ),
    }
}

/// `204 No Content`.
pub fn no_content() -> Response {
    with_standard_headers(Response::empty_204())
}

/// Headers on every response.
pub fn with_standard_headers(resp: Response) -> Response {
    resp.with_unique_header("Cache-Control", "no-store")
        .with_unique_header("X-Content-Type-Options", "nosniff")
        .with_unique_header("Referrer-Policy", "no-referrer")
}
