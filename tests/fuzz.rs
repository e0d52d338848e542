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
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    // Failing inputs are kept here (relative to this package) and replayed
    // first on every run.
    let persistence =
        proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/fuzz.txt");
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        failure_persistence: Some(Box::new(persistence)),
        ..ProptestConfig::default()
    }
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
    prop_oneof![
        prop::collection::vec(markup_token(), 0..300).prop_map(|t| t.concat()),
        "\\PC{0,400}"
    ]
}

/// Nested JSON of the shapes ADF and request bodies take, plus junk.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "\\PC{0,20}".prop_map(Value::String),
        prop::sample::select(vec![
            "doc",
            "paragraph",
            "text",
            "heading",
            "bulletList",
            "listItem",
            "table",
            "tableRow",
            "tableCell",
            "codeBlock",
            "mention",
            "hybrid",
            "keyword"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(8, 256, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "content",
                        "text",
                        "attrs",
                        "level",
                        "query",
                        "top_k",
                        "mode",
                        "filters",
                        "sources",
                        "updated_after"
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

/// A storage-format tree whose text nodes are plain words, for the
/// fidelity properties: every word comes out, in order, and no markup does.
#[derive(Debug, Clone)]
enum Tree {
    Text(String),
    El(&'static str, Vec<Tree>),
}

fn words() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z]{1,8}", 1..4)
        .prop_map(|w| w.join(" "))
        .prop_flat_map(|t| {
            prop_oneof![
                Just(t.clone()),
                Just(format!(" {t}")),
                Just(format!("{t} "))
            ]
        })
}

fn storage_tree() -> impl Strategy<Value = Tree> {
    words()
        .prop_map(Tree::Text)
        .prop_recursive(5, 64, 5, |inner| {
            let kids = prop::collection::vec(inner, 1..5);
            (
                prop::sample::select(vec![
                    "p",
                    "strong",
                    "em",
                    "span",
                    "a",
                    "h2",
                    "ul",
                    "ol",
                    "table",
                    "blockquote",
                    "div",
                    "task",
                    "info",
                    "expand",
                    "layout",
                    "code",
                    "caption-image",
                ]),
                kids,
            )
                .prop_map(|(name, kids)| Tree::El(name, kids))
        })
}

fn text_of(t: &Tree, out: &mut String) {
    match t {
        Tree::Text(s) => out.push_str(s),
        Tree::El(_, kids) => kids.iter().for_each(|k| text_of(k, out)),
    }
}

fn storage_xml(t: &Tree, out: &mut String) {
    let kids = |out: &mut String, kids: &[Tree]| kids.iter().for_each(|k| storage_xml(k, out));
    match t {
        Tree::Text(s) => out.push_str(s),
        Tree::El(name, k) => match *name {
            "ul" | "ol" => {
                out.push_str(&format!("<{name}>"));
                for c in k {
                    out.push_str("<li>");
                    storage_xml(c, out);
                    out.push_str("</li>");
                }
                out.push_str(&format!("</{name}>"));
            }
            "table" => {
                out.push_str("<table><tbody><tr>");
                for c in k {
                    out.push_str("<td>");
                    storage_xml(c, out);
                    out.push_str("</td>");
                }
                out.push_str("</tr></tbody></table>");
            }
            "task" => {
                out.push_str("<ac:task-list>");
                for (i, c) in k.iter().enumerate() {
                    out.push_str(&format!("<ac:task><ac:task-id>{i}</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>"));
                    storage_xml(c, out);
                    out.push_str("</ac:task-body></ac:task>");
                }
                out.push_str("</ac:task-list>");
            }
            "info" | "expand" => {
                out.push_str(&format!("<ac:structured-macro ac:name=\"{name}\"><ac:parameter ac:name=\"icon\">true</ac:parameter><ac:rich-text-body>"));
                kids(out, k);
                out.push_str("</ac:rich-text-body></ac:structured-macro>");
            }
            "layout" => {
                out.push_str(
                    "<ac:layout><ac:layout-section ac:type=\"two_equal\"><ac:layout-cell>",
                );
                kids(out, k);
                out.push_str("</ac:layout-cell></ac:layout-section></ac:layout>");
            }
            "code" => {
                let mut text = String::new();
                text_of(t, &mut text);
                out.push_str(&format!("<ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[{text}]]></ac:plain-text-body></ac:structured-macro>"));
            }
            "caption-image" => {
                out.push_str(
                    "<ac:image><ri:url ri:value=\"https://x.example/a.png\"/><ac:caption>",
                );
                kids(out, k);
                out.push_str("</ac:caption></ac:image>");
            }
            "a" => {
                out.push_str("<a href=\"https://x.example/?a=1&amp;b=2\">");
                kids(out, k);
                out.push_str("</a>");
            }
            _ => {
                out.push_str(&format!("<{name}>"));
                kids(out, k);
                out.push_str(&format!("</{name}>"));
            }
        },
    }
}

/// Whether every non-space character of `want` appears in `got`, in order
/// (markers such as `- `, ` | ` and `Info: ` may sit between them).
fn in_order(want: &str, got: &str) -> bool {
    let mut got = got.chars().filter(|c| !c.is_whitespace());
    want.chars()
        .filter(|c| !c.is_whitespace())
        .all(|w| got.any(|g| g == w))
}

/// An ADF tree whose text nodes are plain words.
fn adf_tree() -> impl Strategy<Value = Value> {
    let text = words().prop_flat_map(|t| prop_oneof![Just(json!({"type": "text", "text": t.clone()})), Just(json!({"type": "text", "text": t, "marks": [{"type": "strong"}, {"type": "link", "attrs": {"href": "https://x.example"}}]}))]);
    let para =
        prop::collection::vec(text, 1..4).prop_map(|c| json!({"type": "paragraph", "content": c}));
    para.prop_recursive(4, 48, 4, |inner| {
        (prop::sample::select(vec!["bulletList", "orderedList", "blockquote", "panel", "table", "expand", "taskList", "layoutSection"]), prop::collection::vec(inner, 1..4)).prop_map(|(name, kids)| match name {
            "bulletList" | "orderedList" => json!({"type": name, "content": kids.into_iter().map(|k| json!({"type": "listItem", "content": [k]})).collect::<Vec<_>>()}),
            "table" => json!({"type": "table", "content": [{"type": "tableRow", "content": kids.into_iter().map(|k| json!({"type": "tableCell", "content": [k]})).collect::<Vec<_>>()}]}),
            "taskList" => json!({"type": "taskList", "content": kids.into_iter().map(|k| json!({"type": "taskItem", "attrs": {"state": "DONE"}, "content": k["content"].as_array().cloned().unwrap_or_default()})).collect::<Vec<_>>()}),
            "layoutSection" => json!({"type": "layoutSection", "content": [{"type": "layoutColumn", "content": kids}]}),
            "panel" => json!({"type": "panel", "attrs": {"panelType": "note"}, "content": kids}),
            "expand" => json!({"type": "expand", "attrs": {"title": "more"}, "content": kids}),
            _ => json!({"type": name, "content": kids}),
        })
    })
}

fn adf_text(v: &Value, out: &mut String) {
    if let Some(t) = v["text"].as_str() {
        out.push_str(t);
    }
    if let Some(t) = v["attrs"]["title"].as_str() {
        out.push_str(t);
    }
    for c in v["content"].as_array().into_iter().flatten() {
        adf_text(c, out);
    }
}

/// Wiki markup and Slack mrkdwn lines made of words with marks around them.
fn marked_words(marks: &'static [&'static str]) -> impl Strategy<Value = (String, String)> {
    prop::collection::vec(("[a-z]{1,8}", prop::sample::select(marks.to_vec())), 1..12).prop_map(
        |ws| {
            let plain = ws
                .iter()
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let marked = ws
                .iter()
                .map(|(w, m)| m.replace("W", w))
                .collect::<Vec<_>>()
                .join(" ");
            (plain, marked)
        },
    )
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

    /// Every character of every text node comes out, in order, and no
    /// markup or entity syntax does.
    #[test]
    fn storage_format_keeps_every_text_node_in_order(tree in prop::collection::vec(storage_tree(), 1..4)) {
        let (mut xml, mut want) = (String::new(), String::new());
        for t in &tree {
            storage_xml(t, &mut xml);
            text_of(t, &mut want);
        }
        let c = sluice_text::html::convert(&xml);
        prop_assert!(in_order(&want, &c.text), "lost text\n{xml}\n---\n{}", c.text);
        prop_assert!(!c.text.contains(['<', '>', '&']), "markup in the text\n{xml}\n---\n{}", c.text);
        prop_assert!(c.warnings.is_empty());
    }

    #[test]
    fn adf_keeps_every_text_node_in_order(content in prop::collection::vec(adf_tree(), 1..4)) {
        let doc = json!({"type": "doc", "version": 1, "content": content});
        let mut want = String::new();
        adf_text(&doc, &mut want);
        let (text, warning) = sluice_jira::adf::adf_to_text(&doc);
        prop_assert!(in_order(&want, &text), "lost text\n{doc}\n---\n{text}");
        prop_assert!(!text.contains(['<', '>', '&', '{', '}']), "markup in the text\n{text}");
        prop_assert_eq!(warning, None);
    }

    #[test]
    fn wiki_markup_keeps_every_word_and_drops_every_mark(lines in prop::collection::vec((prop::sample::select(vec!["", "* ", "# ", "h2. ", "bq. ", "|", "||", "{info}", "{quote}"]), marked_words(&["W", "*W*", "_W_", "-W-", "+W+", "{{W}}", "[W|https://x.example/a_b-c]", "??W??", "{color:red}W{color}", "^W^", "~W~"])), 1..8)) {
        let wiki: String = lines.iter().map(|(lead, (_, marked))| format!("{lead}{marked}\n")).collect();
        let want: String = lines.iter().map(|(_, (plain, _))| plain.as_str()).collect::<Vec<_>>().join(" ");
        let text = sluice_jira::adf::wiki_to_text(&wiki);
        prop_assert!(in_order(&want, &text), "lost text\n{wiki}\n---\n{text}");
        for mark in ["*", "_", "{", "}", "??", "^", "~", "+", "[", "]"] {
            prop_assert!(!text.contains(mark), "`{mark}` left in\n{wiki}\n---\n{text}");
        }
    }

    #[test]
    fn slack_mrkdwn_keeps_every_word_and_drops_every_mark(lines in prop::collection::vec((prop::sample::select(vec!["", "&gt; ", "&gt;"]), marked_words(&["W", "*W*", "_W_", "~W~", "`W`", "<https://x.example|W>", "W <@U1>"])), 1..6)) {
        let text: String = lines.iter().map(|(quote, (_, marked))| format!("{quote}{marked}")).collect::<Vec<_>>().join("\n");
        let want: String = lines.iter().map(|(_, (plain, _))| plain.as_str()).collect::<Vec<_>>().join(" ");
        let dir = sluice_slack::Directory::default();
        let ctx = sluice_slack::ChannelCtx { source: "s", id: "C1", name: "eng", acl: &[], dir: &dir, workspace_url: None };
        let out = ctx.render(&text);
        prop_assert!(in_order(&want, &out), "lost text\n{text}\n---\n{out}");
        for mark in ["*", "_", "~", "`", "<", "&gt;", ">"] {
            prop_assert!(!out.contains(mark), "`{mark}` left in\n{text}\n---\n{out}");
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
        let dir = sluice_slack::Directory { users: HashMap::from([("U1".to_string(), "ada".to_string())]), ..Default::default() };
        let acl = vec!["slack:s:workspace".to_string()];
        let ctx = sluice_slack::ChannelCtx { source: "s", id: "C1", name: "eng", acl: &acl, dir: &dir, workspace_url: None };
        let out = ctx.render(&input);
        // A mention of an unknown id grows to `@unknown user`; fences add lines.
        prop_assert!(out.len() <= input.len() * 4 + 64);
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
        unsafe {
            std::env::set_var(
                "SLUICE_FUZZ_JWT_SECRET",
                "a-secret-of-at-least-thirty-two-bytes!!",
            )
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ids.yaml"), "users: {}\n").unwrap();
        (dir, ())
    });
    sluice_api::ApiKeys::parse_in("jwt:\n  audience: a\n  issuer: https://idp.test\n  hs256_secret_env: SLUICE_FUZZ_JWT_SECRET\nidentity_map: ids.yaml\n", dir.path()).unwrap()
}
