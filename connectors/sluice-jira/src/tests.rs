//! Connector tests against the Jira fixture server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use serde_json::json;
use sluice_core::{DeadLetter, DocKind, Document, Source, SourceError, SyncMode};
use sluice_fixtures::common::{FIXTURE_TOKEN, FIXTURE_USER};
use sluice_fixtures::jira::{self, JiraShared, JiraWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_http::VirtualSleeper;

use super::*;
use sluice_fixtures::{access_sets, sets};

async fn fixture(projects: &[(&str, usize)]) -> (FixtureServer, JiraShared) {
    let shared = Shared::new(JiraWorld::generate(projects));
    (
        FixtureServer::start(jira::router(), shared.clone(), 0)
            .await
            .unwrap(),
        shared,
    )
}

fn source(server: &FixtureServer, extra: serde_json::Value) -> (JiraSource, Arc<VirtualSleeper>) {
    let mut v = json!({ "base_url": server.url(), "http": { "requests_per_second": 10000.0, "burst": 1000 } });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_value(v).unwrap();
    let s = JiraSettings::parse(&map).unwrap_or_else(|e| panic!("{e:?}"));
    let creds = BTreeMap::from([
        ("email".to_string(), FIXTURE_USER.to_string()),
        ("api_token".to_string(), FIXTURE_TOKEN.to_string()),
        ("token".to_string(), FIXTURE_TOKEN.to_string()),
    ]);
    let sleeper = Arc::new(VirtualSleeper::default());
    let sl = sleeper.clone();
    (
        JiraSource::new("jira", s, &creds)
            .unwrap()
            .with_http(|h| h.with_sleeper(sl)),
        sleeper,
    )
}

#[derive(Default)]
struct Drained {
    docs: Vec<Document>,
    deleted: Vec<String>,
    live: BTreeSet<String>,
    access: BTreeMap<String, sluice_core::DocAccess>,
    dead: Vec<DeadLetter>,
    cursor: Option<String>,
}

impl Drained {
    fn keys(&self) -> BTreeSet<String> {
        self.docs
            .iter()
            .map(|d| d.metadata["key"].as_str().unwrap().to_string())
            .collect()
    }
    fn ids(&self) -> BTreeSet<String> {
        self.docs.iter().map(|d| d.external_id.clone()).collect()
    }
    fn by_key(&self, key: &str) -> &Document {
        self.docs
            .iter()
            .find(|d| d.metadata["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
    }
}

async fn drain(
    src: &mut JiraSource,
    mode: SyncMode,
    cursor: Option<&str>,
) -> Result<Drained, SourceError> {
    let mut out = Drained {
        cursor: cursor.map(String::from),
        ..Default::default()
    };
    src.open(mode, cursor).await?;
    while let Some(p) = src.next_page().await? {
        out.docs.extend(p.documents);
        out.deleted.extend(p.deleted);
        out.live.extend(p.live_ids);
        out.access.extend(p.access);
        out.dead.extend(p.dead_letters);
        if p.cursor.is_some() {
            out.cursor = p.cursor;
        }
    }
    Ok(out)
}

#[tokio::test]
async fn cloud_full_sync_maps_fields_adf_all_comments_and_acls() {
    let (server, shared) = fixture(&[("ENG", 30), ("OPS", 8)]).await;
    let (mut src, _) = source(&server, json!({ "page_size": 7 }));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let w = shared.world();
    let expected: BTreeSet<String> = w.keys("ENG").into_iter().chain(w.keys("OPS")).collect();
    assert_eq!(d.keys(), expected);
    assert!(d.dead.is_empty());
    let eng1 = d.by_key("ENG-1");
    assert_eq!(eng1.kind, DocKind::Issue);
    // Remote links are read only when asked for (a request per issue).
    let links = |doc: &sluice_core::Document| {
        doc.metadata
            .get("links")
            .map(|l| l.to_string())
            .unwrap_or_default()
    };
    assert!(!links(d.by_key("ENG-2")).contains("merge_requests"));
    assert!(eng1.title.starts_with("ENG-1: "));
    assert!(
        eng1.body.contains("```bash")
            && eng1.body.contains("Environment | Impact")
            && eng1.body.contains("@Dana Reporter"),
        "{}",
        eng1.body
    );
    assert!(
        eng1.body.contains("  1. Reproduce on staging"),
        "nested list: {}",
        eng1.body
    );
    // 23 comments, only 5 embedded: the rest are paged in.
    assert!(
        eng1.body.contains("Comment 0:") && eng1.body.contains("Comment 22:"),
        "{}",
        eng1.body
    );
    assert_eq!(eng1.body.matches("\n- Commenter").count(), 23);
    assert_eq!(eng1.metadata["status"], "To Do");
    assert_eq!(eng1.metadata["issue_type"], "Bug");
    assert_eq!(eng1.metadata["components"], json!(["api"]));
    assert_eq!(eng1.labels, vec!["customer", "backend"]);
    assert_eq!(
        eng1.url.as_deref(),
        Some(format!("{}/browse/ENG-1", server.url()).as_str())
    );
    assert_eq!(
        access_sets(eng1, "jira:jira:"),
        sets(&[&["user:557058:alice", "user:557058:bob", "user:557058:carol"]])
    );
    assert_eq!(eng1.updated_at, w.find("ENG-1").map(|i| i.updated));
    // ENG-5 carries a security level only alice may see.
    assert_eq!(
        access_sets(d.by_key("ENG-5"), "jira:jira:"),
        sets(&[&["user:557058:alice"]])
    );
    assert_eq!(
        access_sets(d.by_key("OPS-2"), "jira:jira:"),
        sets(&[&["user:557058:alice", "user:557058:dave"]])
    );
}

#[tokio::test]
async fn incremental_uses_the_users_time_zone_and_per_project_marks() {
    let (server, shared) = fixture(&[("ENG", 20)]).await;
    let (mut src, _) = source(
        &server,
        json!({ "projects": ["ENG"], "overlap_minutes": 1 }),
    );
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let newest = full.docs.iter().filter_map(|d| d.updated_at).max().unwrap();
    let cursor = full.cursor.clone().unwrap();
    {
        let mut w = shared.world();
        for _ in 0..30 {
            w.clock.tick();
        }
        w.edit("ENG-3", Some("Renamed: wombat telemetry outage"), None);
        w.add_comment("ENG-4");
        w.delete("ENG-6");
    }
    shared.clear_requests();
    let inc = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    let changed: BTreeSet<String> = inc
        .docs
        .iter()
        .filter(|d| d.updated_at.unwrap() > newest)
        .map(|d| d.metadata["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        changed,
        BTreeSet::from(["ENG-3".to_string(), "ENG-4".to_string()])
    );
    assert!(
        inc.docs.len() <= 4,
        "only the overlap window besides: {:?}",
        inc.keys()
    );
    assert!(inc.by_key("ENG-3").title.contains("wombat"));
    // The JQL date is local (America/New_York), not UTC.
    let search = shared
        .requests()
        .into_iter()
        .find(|r| r.contains("search/jql"))
        .unwrap();
    let mark: Marks = serde_json::from_str(&cursor).unwrap();
    let local = (mark.marks["ENG"] - chrono::Duration::minutes(1))
        .with_timezone(&chrono_tz::America::New_York)
        .format("%Y/%m/%d %H:%M")
        .to_string();
    let decoded = url::form_urlencoded::parse(search.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "jql")
        .unwrap()
        .1
        .into_owned();
    assert!(
        decoded.contains(&format!("updated >= \"{local}\"")),
        "{decoded}"
    );

    // A project added later backfills alone.
    shared.world().add_project("NEW", 5);
    let (mut src2, _) = source(
        &server,
        json!({ "projects": ["ENG", "NEW"], "overlap_minutes": 1 }),
    );
    let back = drain(&mut src2, SyncMode::Incremental, inc.cursor.as_deref())
        .await
        .unwrap();
    let new_keys: BTreeSet<String> = back
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("NEW-"))
        .collect();
    assert_eq!(new_keys.len(), 5);
    assert!(back.keys().iter().filter(|k| k.starts_with("ENG-")).count() <= 2);
}

#[tokio::test]
async fn prune_lists_keys_only_with_the_same_jql() {
    let (server, shared) = fixture(&[("ENG", 30)]).await;
    let (mut src, _) = source(&server, json!({ "jql": "labels != customer" }));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(
        full.docs.len(),
        24,
        "every 5th issue has the customer label"
    );
    shared.clear_requests();
    let prune = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert!(prune.docs.is_empty());
    assert_eq!(prune.live, full.ids());
    assert!(
        shared
            .requests()
            .iter()
            .filter(|r| r.contains("search/jql"))
            .all(|r| r.contains("fields=key"))
    );
    shared.world().delete("ENG-2");
    let after = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert_eq!(after.live.len(), 23);
}

#[tokio::test]
async fn server_v2_with_wiki_markup_and_start_at_paging() {
    let (server, shared) = fixture(&[("ENG", 25)]).await;
    let (mut src, _) = source(&server, json!({ "deployment": "server", "page_size": 10 }));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(d.keys(), shared.world().keys("ENG").into_iter().collect());
    let one = d.by_key("ENG-1");
    assert!(one.body.starts_with("## "), "{}", one.body);
    assert!(
        one.body.contains("Environment | Impact") && one.body.contains("Comment 22:"),
        "{}",
        one.body
    );
    assert!(!one.body.contains("{code"), "{}", one.body);
    // `[~user]` mentions read as display names through the user API, once
    // per user; a user it does not know reads as `@name`.
    let reporters: BTreeSet<&str> = d
        .docs
        .iter()
        .filter_map(|doc| {
            ["@Jane Doe", "@Alan Smith", "@left.user"]
                .into_iter()
                .find(|r| doc.body.contains(&format!("reported by {r}")))
        })
        .collect();
    assert_eq!(reporters.len(), 3, "every reporter mention rendered");
    assert!(
        !d.docs.iter().any(|doc| doc.body.contains("[~")),
        "no raw mention markup"
    );
    let lookups = shared
        .requests()
        .iter()
        .filter(|r| r.starts_with("/rest/api/2/user?"))
        .count();
    assert_eq!(lookups, 3, "one lookup per user per run");
}

/// Server/DC says how many issues each project's listing holds: the pages
/// carry the running expectation (listed before + this project's total),
/// which the CLI turns into an ETA.
#[tokio::test]
async fn server_pages_say_how_many_issues_to_expect() {
    let (server, _) = fixture(&[("ENG", 25), ("OPS", 8)]).await;
    let (mut src, _) = source(&server, json!({ "deployment": "server", "page_size": 10 }));
    src.open(SyncMode::Full, None).await.unwrap();
    let mut seen = Vec::new();
    let mut listed = 0;
    while let Some(p) = src.next_page().await.unwrap() {
        listed += p.documents.len() as u64;
        if let Some(t) = p.expected_total {
            seen.push((listed, t));
        }
    }
    assert_eq!(listed, 33);
    let firsts: Vec<u64> = seen.iter().map(|(_, t)| *t).collect();
    assert_eq!(firsts.first(), Some(&25), "the first project's total first");
    assert_eq!(firsts.last(), Some(&33), "then both projects'");
    assert!(seen.iter().all(|(n, t)| n <= t), "{seen:?}");
}

#[test]
fn an_issue_without_a_summary_is_named_by_its_description() {
    assert_eq!(
        issue_title("OPS-7", "  Disk   full ", "body"),
        "OPS-7: Disk full"
    );
    assert_eq!(
        issue_title(
            "OPS-7",
            "",
            "## Context\n\nThe nightly export to the xml bucket has been empty since Tuesday morning."
        ),
        "OPS-7: Context"
    );
    assert_eq!(
        issue_title("OPS-7", "", "- [x] rotate keys"),
        "OPS-7: rotate keys"
    );
    assert_eq!(
        issue_title(
            "OPS-7",
            "",
            "The nightly export to the xml bucket has been empty since Tuesday morning."
        ),
        "OPS-7: The nightly export to the xml bucket has been empty…"
    );
    assert_eq!(issue_title("OPS-7", "", ""), "OPS-7");
}

#[tokio::test]
async fn rate_limits_5xx_and_a_malformed_page() {
    let (server, shared) = fixture(&[("ENG", 20)]).await;
    {
        let mut f = shared.faults();
        f.rate_limit_every = 6;
        f.retry_after_secs = 12;
    }
    shared.fail_next("/rest/api/3/search/jql", 502, 1);
    let (mut src, sleeper) = source(&server, json!({ "page_size": 5 }));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(d.docs.len(), 20);
    assert!(sleeper.waits().contains(&StdDuration::from_secs(12)));
    shared.faults().rate_limit_every = 0;

    shared.malformed_next("/rest/api/3/search/jql");
    let err = drain(&mut src, SyncMode::Full, None).await.err().unwrap();
    assert!(
        err.message.contains("malformed JSON") && err.location.contains("/rest/api/3/search/jql"),
        "{err}"
    );
    assert!(!err.location.contains(FIXTURE_TOKEN));
}

#[test]
fn settings_errors_name_the_field() {
    let parse = |v: serde_json::Value| JiraSettings::parse(&serde_json::from_value(v).unwrap());
    let e = parse(json!({ "base_url": "acme", "jql": "project = X ORDER BY created", "page_size": 500, "projects": ["a b"] })).unwrap_err();
    let paths: Vec<&str> = e.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths, vec!["base_url", "jql", "page_size", "projects"]);
    assert!(
        parse(json!({ "base_url": "https://acme.atlassian.net", "projects": ["ENG"] })).is_ok()
    );
}

#[tokio::test]
async fn a_comment_restricted_to_a_role_never_joins_its_issue() {
    let (server, shared) = fixture(&[("ENG", 8)]).await;
    {
        // ENG-1 has 23 comments; #1 (embedded) and #20 (paged in) are for Developers only.
        let mut w = shared.world();
        let issue = w.issues.values_mut().find(|i| i.key == "ENG-1").unwrap();
        issue.restricted_comments = vec![1, 20];
    }
    let (mut src, _) = source(&server, json!({ "page_size": 7 }));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let eng1 = d.by_key("ENG-1");
    assert!(!eng1.body.contains("RESTRICTED-"), "{}", eng1.body);
    assert_eq!(
        eng1.body.matches("\n- Commenter").count(),
        21,
        "the other comments stay"
    );
    assert_eq!(eng1.metadata["restricted_comments_omitted"], 2);
}

/// An issue edited while a Server/DC prune listing pages through `startAt`
/// offsets must not make another issue slide past a page boundary unseen
/// (the prune would delete it): the prune pass orders by key.
#[tokio::test]
async fn an_edit_during_a_paged_prune_listing_skips_nothing() {
    let (server, shared) = fixture(&[("ENG", 1_050)]).await;
    let (mut src, _) = source(&server, json!({ "deployment": "server" }));
    let all: BTreeSet<String> = shared
        .world()
        .issues
        .values()
        .map(|i| i.id.to_string())
        .collect();
    shared.world().edit_during_listing = vec!["ENG-5".into()];
    let d = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert_eq!(
        d.live, all,
        "every live issue listed once the listing finished"
    );
}

/// A Server/DC search that answers without `total` cannot say where the
/// listing ends: the pass stops instead of pruning after page one.
#[tokio::test]
async fn a_search_without_total_stops_the_listing() {
    let (server, shared) = fixture(&[("ENG", 30)]).await;
    shared.world().omit_total = true;
    let (mut src, _) = source(&server, json!({ "deployment": "server", "page_size": 10 }));
    let err = drain(&mut src, SyncMode::Prune, None)
        .await
        .err()
        .expect("the listing must stop");
    assert!(
        err.message.contains("without `total`") && err.message.contains("nothing is pruned"),
        "{err}"
    );
}

/// The permission pass reads project and security fields only (no bodies,
/// no comments) and lists the same access a full sync computes.
#[tokio::test]
async fn the_permission_pass_lists_each_issues_access_without_content() {
    let (server, _shared) = fixture(&[("ENG", 12), ("OPS", 4)]).await;
    let (mut src, _) = source(&server, json!({ "page_size": 5 }));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let perms = drain(&mut src, SyncMode::Permissions, None).await.unwrap();
    assert!(perms.docs.is_empty(), "no documents, access only");
    let want: BTreeMap<String, sluice_core::DocAccess> = full
        .docs
        .iter()
        .map(|d| (d.external_id.clone(), d.access.clone().unwrap()))
        .collect();
    assert_eq!(perms.access, want);
    assert!(
        want.values()
            .any(|a| matches!(a, sluice_core::DocAccess::AllOf(s) if s[0].len() == 1)),
        "a security level narrows some issue"
    );
}

#[tokio::test]
async fn fetch_reads_single_issues_by_id_within_the_configured_scope() {
    let (server, shared) = fixture(&[("ENG", 6), ("OPS", 3)]).await;
    for deployment in ["cloud", "server"] {
        let (mut src, _) = source(
            &server,
            json!({ "projects": ["ENG"], "deployment": deployment }),
        );
        let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
        let wanted = full.by_key("ENG-2").external_id.clone();
        let ops = shared
            .world()
            .issues
            .values()
            .find(|i| i.project == "OPS")
            .map(|i| i.id.to_string())
            .unwrap();
        shared.clear_requests();
        let ids = vec![
            wanted.clone(),
            "99999999".to_string(),
            ops.clone(),
            "ENG-1 OR 1=1".to_string(),
        ];
        let page = src
            .fetch(&ids)
            .await
            .unwrap()
            .expect("Jira can fetch by id");
        assert_eq!(
            page.documents
                .iter()
                .map(|d| d.external_id.clone())
                .collect::<Vec<_>>(),
            vec![wanted.clone()],
            "{deployment}"
        );
        assert_eq!(
            page.documents[0].body,
            full.by_key("ENG-2").body,
            "the same document a listing makes"
        );
        let gone: BTreeSet<String> = page.deleted.iter().cloned().collect();
        assert_eq!(
            gone,
            BTreeSet::from(["99999999".to_string(), ops, "ENG-1 OR 1=1".to_string()]),
            "unknown, out of scope, and not an id: gone"
        );
        assert!(
            shared
                .requests()
                .iter()
                .all(|r| !r.contains("OR%201") && !r.contains("OR+1")),
            "a non-numeric id never reaches the JQL"
        );
    }
}

#[tokio::test]
async fn remote_links_become_links_when_asked_for() {
    let (server, _) = fixture(&[("ENG", 4)]).await;
    let (mut src, _) = source(&server, json!({ "remote_links": true }));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let edges = sluice_links::extract(d.by_key("ENG-2"), &Default::default()).edges;
    assert!(
        edges.contains(&(
            sluice_links::EdgeKind::LinksTo,
            "gitlab:acme/platform/api!2".into()
        )),
        "{edges:?}"
    );
    let links = d
        .by_key("ENG-1")
        .metadata
        .get("links")
        .map(|l| l.to_string())
        .unwrap_or_default();
    assert!(!links.contains("merge_requests"), "ENG-1 has none: {links}");
}
