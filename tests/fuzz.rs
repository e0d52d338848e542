//! Fuzz targets for every parser that reads untrusted input: HTML and
//! Confluence storage format, ADF, Jira wiki markup, Slack mrkdwn, pipeline
//! YAML, the search request JSON, and JWTs / JWK Sets. Each is a property
//! test: random and structured inputs (tag soup, nested JSON, mutated
//! pipelines) must never panic, must terminate, and must keep the stated
//! bounds. CI runs 256 cases per target; `PROPTEST_CASES=100000 cargo test
//! -p sluice-tests --test fuzz --release` runs them long. A failing input is
//! kept by proptest under `tests/proptest-regressions/` and replayed first
//! on every later run: commit it, it is the regression test.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    // Failing inputs are kept here (relative to this package) and replayed
    // first on every run.
    let persistence = proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/fuzz.txt");
    ProptestConfig { cases, max_shrink_iters: 2_000, failure_persistence: Some(Box::new(persistence)), ..ProptestConfig::default() }
}

/// Pieces of markup a hostile or broken page is made of.
fn markup_token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .,:;!?'\"]{0,12}",
        Just("<div>".to_string()),
        Just("</div>".to_string()),
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<li>".to_string()),
        Just("<table><tr><td>".to_string()),
        Just("</td><td>".to_string()),
        Just("</tr></table>".to_string()),
        Just("<pre>".to_string()),
        Just("</pre>".to_string()),
        Just("<h2>".to_string()),
        Just("</h2>".to_string()),
        Just("<script>x<y</script>".to_string()),
        Just("<style>".to_string()),
        Just("<![CDATA[".to_string()),
        Just("]]>".to_string()),
        Just("<ac:structured-macro ac:name=\"info\">".to_string()),
        Just("<ac:parameter ac:name=\"title\">".to_string()),
        Just("</ac:parameter>".to_string()),
        Just("<ac:rich-text-body>".to_string()),
        Just("</ac:structured-macro>".to_string()),
        Just("<ri:user ri:account-id=\"5b10\"/>".to_string()),
        Just("<ac:emoticon ac:name=\"tick\"/>".to_string()),
        Just("<ac:task-list><ac:task><ac:task-status>complete</ac:task-status>".to_string()),
        Just("&amp;&lt;&#x3c;&bogus;&nbsp;".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("<!--".to_string()),
        Just("<br/>".to_string()),
        "\\PC{0,6}",
    ]
}

fn markup() -> impl Strategy<Value = String> {
    prop_oneof![prop::collection::vec(markup_token(), 0..300).prop_map(|t| t.concat()), "\\PC{0,400}"]
}

/// Nested JSON of the shapes ADF and request bodies take, plus junk.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
        "\\PC{0,20}".prop_map(Value::String),
        prop::sample::select(vec!["doc", "paragraph", "text", "heading", "bulletList", "listItem", "table", "tableRow", "tableCell", "codeBlock", "mention", "hybrid", "keyword"])
            .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(8, 256, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (prop::sample::select(vec!["type", "content", "text", "attrs", "level", "query", "top_k", "mode", "filters", "sources", "updated_after"]), inner),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

const PIPELINE: &str = "name: fuzz\nschedule:\n  cron: \"*/15 * * * *\"\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\ntransform:\n  sql: SELECT * FROM records\nchunking:\n  max_tokens: 128\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn html_and_storage_format_convert_within_bounds(input in markup()) {
        let c = sluice_text::html::convert(&input);
        // Conversion adds little: markers (`- `, ` | `, `# `, mention and
        // emoticon padding) around text that was in the input.
        prop_assert!(c.text.len() <= input.len() * 4 + 64, "{} bytes out of {}", c.text.len(), input.len());
        // A script body is never text, unless a CDATA section (text by
        // definition in storage format) swallowed it first.
        if !input.contains("<![CDATA[") {
            prop_assert!(!c.text.contains("x<y"), "script text leaked: {:?}", c.text);
        }
    }

    #[test]
    fn adf_converts_any_json(doc in json_value()) {
        let (text, _) = sluice_jira::adf::adf_to_text(&doc);
        prop_assert!(text.len() <= doc.to_string().len() * 4 + 64);
    }

    #[test]
    fn jira_wiki_markup_converts_any_text(input in "\\PC{0,400}") {
        let text = sluice_jira::adf::wiki_to_text(&input);
        prop_assert!(text.len() <= input.len() * 4 + 64);
    }

    #[test]
    fn slack_mrkdwn_renders_any_text(input in prop::collection::vec(prop_oneof!["\\PC{0,8}", Just("<@U1>".to_string()), Just("<#C1|eng>".to_string()), Just("<https://x|y>".to_string()), Just("<".to_string()), Just("|".to_string()), Just("&lt;".to_string())], 0..60).prop_map(|v| v.concat())) {
        let users = HashMap::from([("U1".to_string(), "ada".to_string())]);
        let acl = vec!["slack:s:workspace".to_string()];
        let ctx = sluice_slack::ChannelCtx { source: "s", id: "C1", name: "eng", acl: &acl, users: &users, workspace_url: None };
        let out = ctx.render(&input);
        prop_assert!(out.len() <= input.len() * 2 + 64);
    }

    #[test]
    fn pipeline_yaml_never_panics_and_errors_name_a_place(
        edits in prop::collection::vec((0usize..PIPELINE.len(), prop_oneof!["\\PC{0,3}", Just(":".to_string()), Just("\n  ".to_string()), Just("[".to_string()), Just("&a ".to_string()), Just("*a".to_string()), Just("\t".to_string())]), 0..6),
        junk in "\\PC{0,200}",
        use_junk in any::<bool>(),
    ) {
        let text = if use_junk {
            junk
        } else {
            let mut t = PIPELINE.to_string();
            for (at, piece) in edits {
                let at = t.floor_char_boundary(at.min(t.len()));
                t.insert_str(at, &piece);
            }
            t
        };
        let dir = std::path::Path::new(".");
        if let Err(diags) = sluice_spec::load_pipeline_str(&text, "fuzz.yaml", dir) {
            prop_assert!(!diags.is_empty());
            for d in &diags {
                prop_assert!(!d.message.is_empty());
            }
        }
    }

    #[test]
    fn search_bodies_parse_into_bounded_requests(body in json_value(), raw in "\\PC{0,200}") {
        for parsed in [serde_json::from_value::<sluice_api::SearchBody>(body), serde_json::from_str::<sluice_api::SearchBody>(&raw)] {
            let Ok(b) = parsed else { continue };
            if let Ok(req) = sluice_api::to_request(b, sluice_core::search::Access::public_only()) {
                prop_assert!((1..=sluice_api::MAX_TOP_K).contains(&req.top_k));
                prop_assert!(!req.query.trim().is_empty() && req.query.chars().count() <= 4096);
            }
        }
    }

    #[test]
    fn jwts_and_jwk_sets_from_anyone_are_refused_not_a_panic(
        parts in prop::collection::vec("[A-Za-z0-9_=+/.-]{0,60}", 0..5),
        header in json_value(),
        jwks in prop_oneof![json_value().prop_map(|v| v.to_string()), "\\PC{0,200}"],
    ) {
        use base64::Engine;
        let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.as_bytes());
        let keys = verifier();
        for token in [parts.join("."), format!("{}.{}.{}", b64(&header.to_string()), b64("{\"sub\":\"x\"}"), parts.concat())] {
            prop_assert!(keys.verify_jwt(&token).is_err(), "accepted {token}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwks.json"), &jwks).unwrap();
        std::fs::write(dir.path().join("ids.yaml"), "users: {}\n").unwrap();
        let _ = sluice_api::ApiKeys::parse_in("jwt:\n  audience: a\n  issuer: https://idp.test\n  jwks_file: jwks.json\nidentity_map: ids.yaml\n", dir.path());
    }
}

/// Keys that accept HS256 tokens signed with a secret the fuzzer never has.
fn verifier() -> sluice_api::ApiKeys {
    static KEYS: std::sync::OnceLock<(tempfile::TempDir, ())> = std::sync::OnceLock::new();
    let (dir, ()) = KEYS.get_or_init(|| {
        // SAFETY: set once, before any key file reads it, in this test binary.
        unsafe { std::env::set_var("SLUICE_FUZZ_JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes!!") };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ids.yaml"), "users: {}\n").unwrap();
        (dir, ())
    });
    sluice_api::ApiKeys::parse_in("jwt:\n  audience: a\n  issuer: https://idp.test\n  hs256_secret_env: SLUICE_FUZZ_JWT_SECRET\nidentity_map: ids.yaml\n", dir.path()).unwrap()
}
