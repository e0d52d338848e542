use super::*;
use proptest::prelude::*;
use sluice_core::{DocKind, Document};

fn doc(source: &str, id: &str, kind: DocKind, url: Option<&str>, body: &str) -> Document {
    let mut d = Document::new(source, id, kind);
    d.title = format!("{id}: title");
    d.url = url.map(str::to_string);
    d.body = body.to_string();
    d
}

fn targets(d: &Document, s: &LinkSettings) -> Vec<(EdgeKind, String)> {
    extract(d, s).edges
}

fn has(edges: &[(EdgeKind, String)], kind: EdgeKind, target: &str) -> bool {
    edges.iter().any(|(k, t)| *k == kind && t == target)
}

#[test]
fn jira_keys_in_a_slack_thread_link_and_look_alikes_do_not() {
    let d = doc(
        "slack",
        "thread:C1:1.2",
        DocKind::Thread,
        None,
        "Ana Silva: seeing double charges again, looks like PAY-1432 (and maybe OPS-7).\n\
         Ben: the payload is UTF-8, we are ISO-9001 certified, checksum is SHA-256, deployed billing-api v2.14.1 and APP-3.2.1\n\
         Ben: run `kubectl rollout undo deploy/PAY-99` first\n\
         ```\nERR PAY-100 in the stack trace\n```\n\
         see https://northwind.atlassian.net/browse/PAY-1500 for the follow-up",
    );
    let configured = LinkSettings {
        jira_projects: Some(["PAY".to_string(), "OPS".to_string()].into()),
    };
    let e = targets(&d, &configured);
    assert!(has(&e, EdgeKind::Mentions, "jira:PAY-1432"), "{e:?}");
    assert!(has(&e, EdgeKind::Mentions, "jira:OPS-7"));
    assert!(has(&e, EdgeKind::LinksTo, "jira:PAY-1500"));
    // Not a mention too: the key inside the URL is read once, as a link.
    assert!(!has(&e, EdgeKind::Mentions, "jira:PAY-1500"));
    for absent in [
        "jira:UTF-8",
        "jira:ISO-9001",
        "jira:SHA-256",
        "jira:PAY-99",
        "jira:PAY-100",
        "jira:APP-3",
    ] {
        assert!(!e.iter().any(|(_, t)| t == absent), "{absent} in {e:?}");
    }
    // Without configured projects only the code and version cases are
    // dropped at extraction; the rest never resolve unless such an issue is indexed.
    let e = targets(&d, &LinkSettings::default());
    assert!(has(&e, EdgeKind::Mentions, "jira:PAY-1432"));
    assert!(
        !e.iter()
            .any(|(_, t)| t == "jira:PAY-99" || t == "jira:PAY-100" || t == "jira:APP-3")
    );
}

#[test]
fn gitlab_references_full_short_and_closing() {
    let d = doc(
        "gitlab-mrs",
        "payments/billing-api!45",
        DocKind::MergeRequest,
        Some("https://gitlab.northwind.example/payments/billing-api/-/merge_requests/45"),
        "Closes #12 and fixes platform/infrastructure#7.\n\nRelated: !44, #13 and data/pipelines!3.\n\
         Heading # 5 is not a reference, nor is issue#9 or v1.2#3 or C#7.",
    );
    let e = targets(&d, &LinkSettings::default());
    assert!(
        has(&e, EdgeKind::Closes, "gitlab:payments/billing-api#12"),
        "{e:?}"
    );
    assert!(has(
        &e,
        EdgeKind::Closes,
        "gitlab:platform/infrastructure#7"
    ));
    assert!(!has(
        &e,
        EdgeKind::Mentions,
        "gitlab:payments/billing-api#12"
    ));
    assert!(has(
        &e,
        EdgeKind::Mentions,
        "gitlab:payments/billing-api!44"
    ));
    assert!(has(
        &e,
        EdgeKind::Mentions,
        "gitlab:payments/billing-api#13"
    ));
    assert!(has(&e, EdgeKind::Mentions, "gitlab:data/pipelines!3"));
    assert!(
        !e.iter().any(|(_, t)| t.ends_with("#5")
            || t.ends_with("#9")
            || t.ends_with("#3") && !t.contains("pipelines")),
        "{e:?}"
    );
    // Its own reference is a name, not an edge.
    assert!(
        extract(&d, &LinkSettings::default())
            .names
            .contains(&"gitlab:payments/billing-api!45".to_string())
    );
    assert!(!e.iter().any(|(_, t)| t == "gitlab:payments/billing-api!45"));
    // Short references need a GitLab project: in a Confluence page they are not references.
    let page = doc(
        "wiki",
        "123",
        DocKind::Page,
        Some("https://w.example/wiki/spaces/X/pages/123/T"),
        "We are #1 in the market, see #12",
    );
    assert!(
        !targets(&page, &LinkSettings::default())
            .iter()
            .any(|(_, t)| t.starts_with("gitlab:"))
    );
}

#[test]
fn urls_of_each_system_resolve_to_its_names() {
    assert_eq!(
        url_names("https://northwind.atlassian.net/browse/PAY-12"),
        [
            "jira:PAY-12",
            "url:https://northwind.atlassian.net/browse/PAY-12"
        ]
    );
    assert_eq!(
        url_names(
            "https://Northwind.atlassian.net/wiki/spaces/PAY/pages/98305/Duplicate+charges+postmortem#Timeline"
        )[..1],
        ["confluence:northwind.atlassian.net:98305".to_string()]
    );
    assert_eq!(
        url_names("https://wiki.example/pages/viewpage.action?pageId=4211")[0],
        "confluence:wiki.example:4211"
    );
    assert_eq!(
        url_names("https://gitlab.example/Payments/billing-api/-/issues/7#note_1")[0],
        "gitlab:payments/billing-api#7"
    );
    assert_eq!(
        url_names("https://acme.slack.com/archives/C024BE91L/p1694512345001200")[0],
        "slack:C024BE91L:1694512345.001200"
    );
    // A reply's permalink names its thread.
    assert_eq!(
        url_names(
            "https://acme.slack.com/archives/C024BE91L/p1694519999000100?thread_ts=1694512345.001200&cid=C024BE91L"
        )[0],
        "slack:C024BE91L:1694512345.001200"
    );
    assert_eq!(
        url_names("https://x.example/a/b/"),
        ["url:https://x.example/a/b"]
    );
    assert!(url_names("mailto:a@b.example").is_empty());
    assert!(url_names("javascript:alert(1)").is_empty());
}

#[test]
fn markup_targets_read_hrefs_page_links_and_jira_macros() {
    let storage = r#"<p>See <ac:link><ri:page ri:space-key="PAY" ri:content-title="Refunds &amp; chargebacks"/><ac:plain-text-link-body><![CDATA[the refunds page]]></ac:plain-text-link-body></ac:link>,
        <a href="https://gitlab.northwind.example/payments/billing-api/-/merge_requests/12?tab=diffs&amp;x=1">the fix</a> and
        <ac:structured-macro ac:name="jira" ac:schema-version="1"><ac:parameter ac:name="server">Northwind Jira</ac:parameter><ac:parameter ac:name="key">PAY-1432</ac:parameter></ac:structured-macro>.</p>"#;
    let t = markup_targets(storage);
    assert_eq!(
        t,
        [
            "jira-macro:PAY-1432",
            "page-title:Refunds & chargebacks",
            "https://gitlab.northwind.example/payments/billing-api/-/merge_requests/12?tab=diffs&x=1",
        ]
    );
    // Hundreds of URLs never crowd out the precise links.
    let many: String = (0..300)
        .map(|i| format!("<a href=\"https://x.example/{i}\">x</a>"))
        .collect();
    let t = markup_targets(&format!("{many}{storage}"));
    assert_eq!(t.len(), markup::MAX_TARGETS);
    assert!(
        t.contains(&"page-title:Refunds & chargebacks".to_string())
            && t.contains(&"jira-macro:PAY-1432".to_string())
    );
    // A hostile run of parentheses is trimmed in linear time.
    let hostile = format!("see http://a.example/{} end", ")".repeat(200_000));
    let started = std::time::Instant::now();
    let mut d = doc("s", "x", DocKind::Page, None, &hostile);
    markup::add_targets(&mut d.metadata, &hostile);
    let _ = extract(&d, &LinkSettings::default());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        markup_targets(
            "Incident thread: [#payments-eng](https://northwind.slack.com/archives/C1/p1000000001000000)."
        ),
        ["https://northwind.slack.com/archives/C1/p1000000001000000"]
    );
    assert_eq!(
        markup_targets(
            "<https://grafana.nw.internal/d/kafka?var=a|Dashboard> | <https://w.example/pages/5|Runbook>"
        ),
        [
            "https://grafana.nw.internal/d/kafka?var=a",
            "https://w.example/pages/5"
        ]
    );
    let mut d = doc(
        "wiki",
        "9",
        DocKind::Page,
        None,
        "the refunds page, the fix and PAY-1432",
    );
    markup::add_targets(&mut d.metadata, storage);
    let e = targets(&d, &LinkSettings::default());
    assert!(
        has(&e, EdgeKind::LinksTo, "page-title:refunds & chargebacks"),
        "{e:?}"
    );
    assert!(has(&e, EdgeKind::LinksTo, "gitlab:payments/billing-api!12"));
    assert!(has(&e, EdgeKind::Embeds, "jira:PAY-1432"));
    // A Jira issue link, as the Jira connector records it.
    markup::add_target(&mut d.metadata, format!("{}OPS-9", markup::JIRA_LINK));
    markup::add_target(&mut d.metadata, format!("{}not a key", markup::JIRA_LINK));
    let e = targets(&d, &LinkSettings::default());
    assert!(has(&e, EdgeKind::LinksTo, "jira:OPS-9"));
    assert!(!e.iter().any(|(_, t)| t.contains("not a key")));
}

#[test]
fn people_by_each_systems_own_id() {
    let storage =
        r#"<p>Ask <ac:link><ri:user ri:account-id="5b10ac8d82e05b22cc7d4ef5"/></ac:link></p>"#;
    let adf = r#"{"type":"paragraph","content":[{"type":"mention","attrs":{"id":"557058:dana","text":"@Dana"}}]}"#;
    let mrkdwn = "<@U024BE7LH> and <@W0123ABCD|ana> see <#C1|general>";
    assert_eq!(
        markup_targets(storage),
        ["person:confluence:5b10ac8d82e05b22cc7d4ef5"]
    );
    assert_eq!(markup_targets(adf), ["person:jira:557058:dana"]);
    assert_eq!(
        markup_targets(mrkdwn),
        ["person:slack:U024BE7LH", "person:slack:W0123ABCD"]
    );
    let mut d = doc("chat", "t", DocKind::Thread, None, "hi");
    markup::add_targets(&mut d.metadata, mrkdwn);
    let e = targets(&d, &LinkSettings::default());
    assert!(
        has(&e, EdgeKind::MentionsPerson, "person:slack:U024BE7LH"),
        "{e:?}"
    );
}

#[test]
fn names_parents_and_people() {
    let mut d = doc(
        "confluence",
        "98305",
        DocKind::Page,
        Some("https://northwind.atlassian.net/wiki/spaces/PAY/pages/98305/Postmortem"),
        "Thanks @priya.raman and @ben for the review. Mail ops@northwind.example.",
    );
    d.title = "Postmortem:  duplicate charges".into();
    d.parent_id = Some("98300".into());
    let l = extract(&d, &LinkSettings::default());
    assert_eq!(
        l.names,
        [
            "doc:confluence:98305",
            "confluence:northwind.atlassian.net:98305",
            "url:https://northwind.atlassian.net/wiki/spaces/PAY/pages/98305/Postmortem",
            "page-title:postmortem: duplicate charges",
        ]
    );
    assert!(has(&l.edges, EdgeKind::ChildOf, "doc:confluence:98300"));
    assert!(has(
        &l.edges,
        EdgeKind::MentionsPerson,
        "person:priya.raman"
    ));
    assert!(has(&l.edges, EdgeKind::MentionsPerson, "person:ben"));
    assert!(!l.edges.iter().any(|(_, t)| t.contains("northwind.example")));
    let issue = doc("jira", "PAY-7", DocKind::Issue, None, "");
    assert!(
        extract(&issue, &LinkSettings::default())
            .names
            .contains(&"jira:PAY-7".to_string())
    );
}

#[test]
fn code_is_blanked_in_place() {
    let t = "a `PAY-1` b\n```sh\nOPS-2\n```\nc OPS-3\n[03:51] Ben: ```UPDATE x -- OPS-4;```\nticket OPS-5 `é OPS-6`";
    let w = without_code(t);
    assert_eq!(w.len(), t.len());
    assert!(!w.contains("PAY-1") && !w.contains("OPS-2") && w.contains("OPS-3"));
    assert!(
        !w.contains("OPS-4") && w.contains("ticket OPS-5") && !w.contains("OPS-6"),
        "{w}"
    );
}

proptest! {
    // Hostile text: bounded output, never a panic, never an edge to itself.
    #[test]
    fn any_text_gives_bounded_edges(body in "(\\PC|[#!@/`<>|\\n-]|PAY-1|https://x.example/browse/A-1){0,400}") {
        let d = doc("s", "PAY-1", DocKind::Issue, Some("https://x.example/browse/PAY-1"), &body);
        let mut d = d;
        markup::add_targets(&mut d.metadata, &body);
        let l = extract(&d, &LinkSettings::default());
        prop_assert!(l.edges.len() <= MAX_EDGES);
        prop_assert!(l.names.len() <= MAX_NAMES);
        for (_, t) in &l.edges {
            prop_assert!(!l.names.contains(t));
        }
    }
}

#[test]
fn commits_resolve_to_the_merge_request_that_carries_them() {
    // The MR answers to each of its commits by the first seven hex digits.
    let mut mr = doc(
        "gitlab",
        "payments/refund-service!64",
        DocKind::MergeRequest,
        Some("https://gitlab.northwind.example/payments/refund-service/-/merge_requests/64"),
        "",
    );
    mr.metadata.insert(
        COMMITS_KEY.into(),
        serde_json::json!([
            "8E0B45049B6253B8984CDE9241830D2851168142",
            "2fc4e8b9",
            "not-a-sha",
            "abc"
        ]),
    );
    let names = extract(&mr, &LinkSettings::default()).names;
    assert!(names.contains(&"gitlab-commit:payments/refund-service@8e0b450".to_string()));
    assert!(names.contains(&"gitlab-commit:payments/refund-service@2fc4e8b".to_string()));
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("gitlab-commit:"))
            .count(),
        2,
        "{names:?}"
    );
    // An issue's metadata never makes commit names.
    let mut issue = doc(
        "gitlab",
        "payments/refund-service#3",
        DocKind::Issue,
        None,
        "",
    );
    issue.metadata = mr.metadata.clone();
    assert!(
        !extract(&issue, &LinkSettings::default())
            .names
            .iter()
            .any(|n| n.starts_with("gitlab-commit:"))
    );
    // A commit URL (full or short SHA) and GitLab's `project@sha` reference.
    let chat = doc(
        "slack",
        "C1-1",
        DocKind::Thread,
        None,
        "Reverted in https://gitlab.northwind.example/payments/refund-service/-/commit/8e0b45049b6253b8984cde9241830d2851168142 \
         and payments/refund-service@2fc4e8b9 broke it. Mail ops@deadbeef1 or see hash 2fc4e8b972 alone, `infra/deploy@aaaaaaa1`.",
    );
    let e = targets(&chat, &LinkSettings::default());
    assert!(has(
        &e,
        EdgeKind::LinksTo,
        "gitlab-commit:payments/refund-service@8e0b450"
    ));
    assert!(has(
        &e,
        EdgeKind::Mentions,
        "gitlab-commit:payments/refund-service@2fc4e8b"
    ));
    let commits: Vec<_> = e
        .iter()
        .filter(|(_, t)| t.starts_with("gitlab-commit:"))
        .collect();
    assert_eq!(
        commits.len(),
        2,
        "no project, no commit; code skipped: {e:?}"
    );
}
