//! The built-in search page at `/`: one self-contained HTML file (no
//! external assets, so it works on closed networks) that calls the same
//! JSON API as any other client.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("page/index.html");

pub async fn index() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Inline script and style only; fetches go to this origin.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
}
