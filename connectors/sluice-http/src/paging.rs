use reqwest::header::HeaderMap;
use url::Url;

/// The `rel="next"` target of an RFC 8288 `Link` header (GitLab, GitHub,
/// Confluence v2 all send one).
pub fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(s) = value.to_str() else { continue };
        for part in split_links(s) {
            let part = part.trim();
            let Some(end) = part.find('>') else { continue };
            if !part.starts_with('<') {
                continue;
            }
            let target = &part[1..end];
            let params = &part[end + 1..];
            let is_next = params.split(';').any(|p| {
                let p = p.trim();
                let Some(v) = p.strip_prefix("rel=") else {
                    return false;
                };
                v.trim_matches('"')
                    .split_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target.to_string());
            }
        }
    }
    None
}

/// Splits at commas outside `<…>` (URLs may contain commas).
fn split_links(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Resolves a next link (absolute, or relative to the API's origin the way
/// Confluence's `_links.next` is) against `base`.
pub fn resolve_link(base: &Url, link: &str) -> Result<Url, url::ParseError> {
    base.join(link)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, LINK};

    #[test]
    fn finds_next_among_several_relations() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static(
                r#"<https://gitlab.example/api/v4/projects?id_after=5,6&per_page=2>; rel="next", <https://gitlab.example/api/v4/projects?page=1>; rel="first""#,
            ),
        );
        assert_eq!(
            link_next(&h).as_deref(),
            Some("https://gitlab.example/api/v4/projects?id_after=5,6&per_page=2")
        );
        h.insert(
            LINK,
            HeaderValue::from_static(r#"<https://x/a?page=1>; rel="prev""#),
        );
        assert_eq!(link_next(&h), None);
    }

    #[test]
    fn relative_links_resolve_against_the_origin() {
        let base =
            Url::parse("https://acme.atlassian.net/wiki/api/v2/spaces/1/pages?limit=5").unwrap();
        let u = resolve_link(&base, "/wiki/api/v2/spaces/1/pages?cursor=abc").unwrap();
        assert_eq!(
            u.as_str(),
            "https://acme.atlassian.net/wiki/api/v2/spaces/1/pages?cursor=abc"
        );
    }
}
