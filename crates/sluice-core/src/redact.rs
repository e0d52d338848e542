//! Credentials out of messages that leave the process (API warnings, error
//! bodies): a backend's error text may quote its URL with a password or
//! a key in it (`http://elastic:pw@es:9200/…?api_key=…`). Written by hand
//! because it works on free text, not on a parsed URL (`url` would reject
//! most of the sentence around it).

/// `s` with URL user-info removed, URL query values replaced and
/// `Bearer`/`Basic`/`ApiKey` tokens replaced.
pub fn text(s: &str) -> String {
    let urls = redact_urls(s);
    redact_schemes(&urls)
}

fn is_url_end(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '<' | '>' | '`' | ')' | ']' | '}' | ',' | ';'
        )
}

fn redact_urls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        let after = &rest[i + 3..];
        let end = after.find(is_url_end).unwrap_or(after.len());
        let url = &after[..end];
        let auth_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let (authority, tail) = url.split_at(auth_end);
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        out.push_str(host);
        match tail.split_once('?') {
            Some((path, query)) => {
                out.push_str(path);
                out.push('?');
                let (query, fragment) = query
                    .split_once('#')
                    .map_or((query, None), |(q, f)| (q, Some(f)));
                let pairs: Vec<String> = query
                    .split('&')
                    .map(|p| match p.split_once('=') {
                        Some((k, _)) => format!("{k}=REDACTED"),
                        None => p.to_string(),
                    })
                    .collect();
                out.push_str(&pairs.join("&"));
                if let Some(f) = fragment {
                    out.push('#');
                    out.push_str(f);
                }
            }
            None => out.push_str(tail),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn redact_schemes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let lower = s.to_ascii_lowercase();
    let mut i = 0;
    'scan: while i < s.len() {
        for scheme in ["bearer ", "basic ", "apikey ", "token "] {
            if lower[i..].starts_with(scheme)
                && (i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric())
            {
                let start = i + scheme.len();
                let len = s[start..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
                    .unwrap_or(s.len() - start);
                if len >= 8 {
                    out.push_str(&s[i..start]);
                    out.push_str("REDACTED");
                    i = start + len;
                    continue 'scan;
                }
            }
        }
        let c = s[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn credentials_in_free_text_are_removed() {
        let msg = "elasticsearch: error sending request for url (http://elastic:s3cret@es.internal:9200/chunks/_search?api_key=abc123&size=10): connection refused";
        assert_eq!(
            text(msg),
            "elasticsearch: error sending request for url (http://es.internal:9200/chunks/_search?api_key=REDACTED&size=REDACTED): connection refused"
        );
        assert_eq!(
            text("qdrant said 401 for Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y"),
            "qdrant said 401 for Authorization: Bearer REDACTED"
        );
        assert_eq!(
            text("header ApiKey Zm9vOmJhcmJhenF1eA== rejected"),
            "header ApiKey REDACTED rejected"
        );
        assert_eq!(
            text("no secrets here: keyword leg timed out after 2s"),
            "no secrets here: keyword leg timed out after 2s"
        );
        assert_eq!(
            text("see https://docs.example/x#frag and café"),
            "see https://docs.example/x#frag and café"
        );
        assert_eq!(
            text("a token of words"),
            "a token of words",
            "short words after `token` are text"
        );
    }
}
