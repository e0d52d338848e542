use url::Url;

/// Query parameters whose values never reach logs or error messages.
const SECRET_PARAMS: [&str; 12] = [
    "token",
    "access_token",
    "private_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
    "signature",
    "sig",
    "auth",
    "code",
];

/// The URL with user info removed and secret-looking query values replaced
/// by `REDACTED`, for logs and error messages.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let lower = k.to_ascii_lowercase();
                let secret = SECRET_PARAMS
                    .iter()
                    .any(|s| lower == *s || lower.ends_with(&format!("_{s}")));
                (
                    k.into_owned(),
                    if secret {
                        "REDACTED".to_string()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials_and_secret_params() {
        let u = Url::parse("https://bob:hunter2@gitlab.example/api/v4/projects?private_token=glpat-123&per_page=20&access_token=x").unwrap();
        let r = redact_url(&u);
        assert!(
            !r.contains("hunter2") && !r.contains("bob") && !r.contains("glpat-123"),
            "{r}"
        );
        assert!(
            r.contains("per_page=20")
                && r.contains("private_token=REDACTED")
                && r.contains("access_token=REDACTED"),
            "{r}"
        );
    }
}
