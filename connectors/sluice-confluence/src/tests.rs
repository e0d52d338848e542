//! Connector tests against the Confluence fixture server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sluice_core::{DeadLetter, DocKind, Document, ListingScope, Source, SyncMode};
use sluice_fixtures::common::{FIXTURE_TOKEN, FIXTURE_USER};
use sluice_fixtures::confluence::{self, ConfluenceShared, ConfluenceWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_http::VirtualSleeper;

use super::*;
use sluice_fixtures::{access_sets, sets};

struct Fx {
    server: FixtureServer,
    shared: ConfluenceShared,
}

async fn fixture(spaces: &[(&str, usize)]) -> Fx {
    let shared = Shared::new(ConfluenceWorld::generate(spaces));
    let server = FixtureServer::start(confluence::router(), shared.clone(), 0)
        .await
        .unwrap();
    Fx { server, shared }
}

fn settings(fx: &Fx, extra: serde_json::Value) -> ConfluenceSettings {
    let mut v = json!({ "base_url": format!("{}/wiki", fx.server.url()), "http": { "requests_per_second": 10000.0, "burst": 1000 } });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    if v["deployment"] == "server" {
        v["base_url"] = json!(fx.server.url());
    }
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_value(v).unwrap();
    ConfluenceSettings::parse(&map).unwrap_or_else(|e| panic!("{e:?}"))
}

fn source(s: ConfluenceSettings) -> (ConfluenceSource, Arc<VirtualSleeper>) {
    let creds = BTreeMap::from([
        ("email".to_string(), FIXTURE_USER.to_string()),
        ("api_token".to_string(), FIXTURE_TOKEN.to_string()),
        ("token".to_string(), FIXTURE_TOKEN.to_string()),
    ]);
    let sleeper = Arc::new(VirtualSleeper::default());
    let sl = sleeper.clone();
    (
        ConfluenceSource::new("wiki", s, &creds)
            .unwrap()
            .with_http(|h| h.with_sleeper(sl)),
        sleeper,
    )
}

#[derive(Default, Debug)]
struct Drained {
    docs: Vec<Document>,
    deleted: Vec<String>,
    live: Vec<String>,
    dead: Vec<DeadLetter>,
    cursor: Option<String>,
    pages: usize,
}

impl Drained {
    /// Documents changed after `since` (an incremental listing also re-reads
    /// the items sitting exactly on the watermark: `>=` never misses a tie).
    fn changed_after(&self, since: chrono::DateTime<chrono::Utc>) -> BTreeSet<String> {
        self.docs
            .iter()
            .filter(|d| d.updated_at.unwrap() > since)
            .map(|d| d.external_id.clone())
            .collect()
    }
    fn newest(&self) -> chrono::DateTime<chrono::Utc> {
        self.docs.iter().filter_map(|d| d.updated_at).max().unwrap()
    }
    fn ids(&self) -> BTreeSet<String> {
        self.docs.iter().map(|d| d.external_id.clone()).collect()
    }
    fn doc(&self, id: u64) -> &Document {
        self.docs
            .iter()
            .find(|d| d.external_id == id.to_string())
            .unwrap_or_else(|| panic!("no document {id}"))
    }
}

async fn drain(
    src: &mut ConfluenceSource,
    mode: SyncMode,
    cursor: Option<&str>,
) -> Result<Drained, SourceError> {
    let mut out = Drained {
        cursor: cursor.map(String::from),
        ..Default::default()
    };
    src.open(mode, cursor).await?;
    while let Some(p) = src.next_page().await? {
        out.pages += 1;
        out.docs.extend(p.documents);
        out.deleted.extend(p.deleted);
        out.live.extend(p.live_ids);
        out.dead.extend(p.dead_letters);
        if p.cursor.is_some() {
            out.cursor = p.cursor;
        }
    }
    Ok(out)
}

fn ids(w: &ConfluenceWorld, space: &str) -> BTreeSet<String> {
    w.ids(space, "current")
        .into_iter()
        .map(|i| i.to_string())
        .collect()
}

#[tokio::test]
async fn full_sync_maps_pages_comments_breadcrumbs_acls_and_attachments() {
    let fx = fixture(&[("ENG", 40), ("OPS", 12)]).await;
    let (mut src, _) = source(settings(&fx, json!({ "page_size": 7 })));
    assert_eq!(
        src.open(SyncMode::Full, None).await.unwrap(),
        ListingScope::Complete
    );
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let w = fx.shared.world();
    let expected: BTreeSet<String> = ids(&w, "ENG").union(&ids(&w, "OPS")).cloned().collect();
    assert_eq!(d.ids(), expected);
    assert!(d.dead.is_empty() && d.deleted.is_empty());
    assert!(d.pages > 52 / 7, "paginated: {} pages", d.pages);

    let eng: Vec<&confluence::Content> = w
        .contents
        .values()
        .filter(|c| Some(c.space_id) == w.space_id("ENG"))
        .collect();
    // k = 0: a root page with 3 footer and 1 inline comment.
    let root = d.doc(eng[0].id);
    assert_eq!(root.kind, DocKind::Page);
    assert!(
        root.body.starts_with("# Deployment") || root.body.starts_with('#'),
        "{}",
        root.body
    );
    assert!(
        root.body.contains("## Comments")
            && root.body.contains("Comment 2:")
            && root.body.contains("Inline note 0"),
        "{}",
        root.body
    );
    // Mentions and the author read as names, through the user API.
    let owner = [
        "@Ada Lovelace",
        "@Grace Hopper",
        "@Alan Turing",
        "@Edsger Dijkstra",
        "@Barbara Liskov",
        "@Donald Knuth",
        "@unknown user",
    ][(eng[0].id % 7) as usize];
    assert!(
        root.body
            .contains(&format!("Confirm with the owner {owner}")),
        "mention as a name: {}",
        root.body
    );
    assert!(
        !d.docs.iter().any(|doc| doc.body.contains("557058:")),
        "no raw account id in any body"
    );
    assert!(
        d.docs.iter().any(|doc| doc.body.contains("@unknown user")),
        "a user the API does not know reads as a placeholder"
    );
    assert!(
        [
            "Katherine Johnson",
            "Margaret Hamilton",
            "Dennis Ritchie",
            "Frances Allen",
            "Ken Thompson"
        ]
        .contains(&root.author.as_deref().unwrap()),
        "{:?}",
        root.author
    );
    let user_lookups = fx
        .shared
        .requests()
        .iter()
        .filter(|r| r.contains("rest/api/user"))
        .count();
    assert!(
        user_lookups <= 12,
        "each user is looked up once per run: {user_lookups}"
    );
    assert!(
        root.body.contains("| Status") || root.body.contains("Owner | Status"),
        "table kept: {}",
        root.body
    );
    assert_eq!(
        access_sets(root, "confluence:wiki:"),
        sets(&[&["group:confluence-users"]])
    );
    assert_eq!(
        root.access,
        Some(sluice_core::DocAccess::any_of([
            "confluence:wiki:group:confluence-users"
        ])),
        "qualified by system and source"
    );
    assert_eq!(root.breadcrumb, vec!["ENG space"]);
    assert_eq!(root.metadata["space"], "ENG");
    assert!(
        root.url
            .as_deref()
            .unwrap()
            .starts_with(&format!("{}/wiki/spaces/ENG/pages/", fx.server.url()))
    );
    // k = 9 is a blog post.
    assert_eq!(d.doc(eng[9].id).kind, DocKind::BlogPost);
    // k = 3 has a text attachment.
    let with_att = d.doc(eng[3].id);
    assert!(
        with_att.body.contains("## Attachment: runbook-notes.txt"),
        "{}",
        with_att.body
    );
    assert_eq!(
        with_att.metadata["attachments"][0]["title"],
        "runbook-notes.txt"
    );
    // Word text is extracted; the image keeps its metadata only.
    assert!(
        with_att.body.contains("## Attachment: design-review.docx")
            && with_att.body.contains("Design review: "),
        "{}",
        with_att.body
    );
    assert_eq!(
        with_att.metadata["attachments"].as_array().unwrap().len(),
        3
    );
    assert!(!with_att.body.contains("diagram.png"));
    // k = 5 is restricted to alice + sre: the space's readers AND the
    // restriction; its descendants inherit both.
    let restricted = eng[5].id;
    let space_and_restriction = sets(&[
        &["group:confluence-users"],
        &["group:sre", "user:557058:alice"],
    ])
    .unwrap();
    assert_eq!(
        access_sets(d.doc(restricted), "confluence:wiki:").unwrap(),
        space_and_restriction
    );
    let children: Vec<u64> = eng
        .iter()
        .filter(|c| c.parent_id == Some(restricted))
        .map(|c| c.id)
        .collect();
    assert!(!children.is_empty());
    for c in children {
        let doc = d.doc(c);
        assert_eq!(
            access_sets(doc, "confluence:wiki:").unwrap()[..2],
            space_and_restriction[..],
            "inherited restriction"
        );
        assert_eq!(
            doc.parent_id.as_deref(),
            Some(restricted.to_string().as_str())
        );
        assert!(
            doc.breadcrumb.len() >= 2 && doc.breadcrumb.contains(&eng[5].title),
            "{:?}",
            doc.breadcrumb
        );
    }
    // The second space grants a group and a user, not the administrators.
    let ops = w
        .contents
        .values()
        .find(|c| Some(c.space_id) == w.space_id("OPS") && c.restricted_users.is_empty())
        .unwrap();
    assert_eq!(
        access_sets(d.doc(ops.id), "confluence:wiki:"),
        sets(&[&["group:engineering", "user:557058:bob"]])
    );
}

#[tokio::test]
async fn incremental_sees_edits_trash_archive_and_backfills_a_new_space_alone() {
    let fx = fixture(&[("ENG", 30)]).await;
    // No overlap, so the incremental listing is exact (the overlap re-reads
    // a window before the watermark; unchanged re-reads cost no embedding).
    let (mut src, _) = source(settings(
        &fx,
        json!({ "spaces": ["ENG"], "overlap_minutes": 0 }),
    ));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let cursor = full.cursor.clone().expect("cursor after a full run");

    // Nothing changed: an incremental run lists nothing new.
    let again = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    assert!(again.deleted.is_empty());
    let (edited, trashed, archived) = {
        let mut w = fx.shared.world();
        let ids = w.ids("ENG", "current");
        // Past the 10-minute overlap window of the previous run.
        for _ in 0..20 {
            w.clock.tick();
        }
        w.edit(
            ids[2],
            "<p>Completely new text about the zebra migration plan.</p>",
        );
        w.set_status(ids[4], "trashed");
        w.set_status(ids[6], "archived");
        (ids[2], ids[4], ids[6])
    };
    let inc = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(
        inc.changed_after(full.newest()),
        BTreeSet::from([edited.to_string()]),
        "only the edit is new"
    );
    assert!(
        inc.docs.len() <= 3,
        "only watermark ties besides: {:?}",
        inc.ids()
    );
    assert!(inc.doc(edited).body.contains("zebra migration"));
    assert_eq!(
        inc.deleted.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([trashed.to_string(), archived.to_string()])
    );

    // With the default 10-minute overlap the edit is still read, plus at most
    // the items modified within the window before the watermark.
    let (mut with_overlap, _) = source(settings(&fx, json!({ "spaces": ["ENG"] })));
    let o = drain(&mut with_overlap, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    assert!(o.ids().contains(&edited.to_string()));
    let marks: Marks = serde_json::from_str(&cursor).unwrap();
    let floor = marks.marks["ENG/page"] - chrono::Duration::minutes(10);
    assert!(o.docs.iter().all(|d| d.updated_at.unwrap() >= floor));

    // A newly configured space backfills completely; the old one stays incremental.
    fx.shared.world().add_space("NEW", 8);
    let (mut src2, _) = source(settings(
        &fx,
        json!({ "spaces": ["ENG", "NEW"], "overlap_minutes": 0 }),
    ));
    let cursor2 = inc.cursor.clone().unwrap();
    let back = drain(&mut src2, SyncMode::Incremental, Some(&cursor2))
        .await
        .unwrap();
    let w = fx.shared.world();
    let old_space: BTreeSet<String> = back
        .docs
        .iter()
        .filter(|d| d.metadata["space"] == "ENG")
        .map(|d| d.external_id.clone())
        .collect();
    assert!(old_space.len() <= 2, "ENG stays incremental: {old_space:?}");
    assert_eq!(
        back.ids()
            .difference(&old_space)
            .cloned()
            .collect::<BTreeSet<_>>(),
        ids(&w, "NEW")
    );
    let marks: Marks = serde_json::from_str(back.cursor.as_deref().unwrap()).unwrap();
    assert!(
        marks.marks.contains_key("NEW/page") && marks.marks.contains_key("ENG/page"),
        "{marks:?}"
    );
}

#[tokio::test]
async fn prune_pass_lists_ids_only_and_admits_exactly_the_main_pass() {
    let fx = fixture(&[("ENG", 40)]).await;
    let extra = json!({ "include_labels": ["runbook", "howto"], "exclude_labels": ["draft"], "include_archived": true });
    let (mut src, _) = source(settings(&fx, extra.clone()));
    {
        let mut w = fx.shared.world();
        let ids = w.ids("ENG", "current");
        w.set_status(ids[1], "archived");
        w.set_status(ids[2], "trashed");
        w.set_labels(ids[3], &["draft", "runbook"]);
    }
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    fx.shared.clear_requests();
    let prune = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert!(prune.docs.is_empty());
    assert_eq!(
        prune.live.iter().cloned().collect::<BTreeSet<_>>(),
        full.ids(),
        "prune must admit what the main pass admits"
    );
    assert!(
        prune.cursor.is_none()
            || prune.cursor == full.cursor.clone().map(|_| prune.cursor.clone().unwrap())
    );
    let reqs = fx.shared.requests();
    assert!(
        reqs.iter().all(|r| !r.contains("body-format")),
        "ids only: {reqs:?}"
    );
    // Purged for good: it no longer appears.
    let gone = fx.shared.world().ids("ENG", "current")[0];
    fx.shared.world().purge(gone);
    let after = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert!(!after.live.contains(&gone.to_string()));
    assert_eq!(after.live.len(), prune.live.len() - 1);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_without_losing_pages() {
    let fx = fixture(&[("ENG", 25)]).await;
    {
        let mut f = fx.shared.faults();
        f.rate_limit_every = 9;
        f.retry_after_secs = 30;
    }
    fx.shared.fail_next("/wiki/api/v2/spaces/", 503, 2);
    let (mut src, sleeper) = source(settings(&fx, json!({ "page_size": 5 })));
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert_eq!(d.ids(), ids(&fx.shared.world(), "ENG"));
    let waits = sleeper.waits();
    assert!(
        waits
            .iter()
            .filter(|w| **w == Duration::from_secs(30))
            .count()
            >= 3,
        "Retry-After honoured: {waits:?}"
    );
    assert!(src.http().stats().rate_limited() >= 3);
    assert!(src.http().stats().retries() >= 5);
}

#[tokio::test]
async fn a_malformed_page_fails_the_run_with_the_url_and_keeps_the_checkpoint() {
    let fx = fixture(&[("ENG", 20)]).await;
    let (mut src, _) = source(settings(
        &fx,
        json!({ "page_size": 5, "overlap_minutes": 0 }),
    ));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let cursor = full.cursor.clone().unwrap();
    {
        let mut w = fx.shared.world();
        for _ in 0..20 {
            w.clock.tick();
        }
        let ids = w.ids("ENG", "current");
        w.edit(ids[0], "<p>edited</p>");
    }
    let space_id = fx.shared.world().space_id("ENG").unwrap();
    fx.shared
        .malformed_next(&format!("/wiki/api/v2/spaces/{space_id}/pages"));
    src.open(SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    let err = loop {
        match src.next_page().await {
            Ok(Some(p)) => assert!(p.documents.is_empty(), "no page before the broken one"),
            Ok(None) => panic!("the malformed page must fail"),
            Err(e) => break e,
        }
    };
    assert!(!err.transient);
    assert!(err.message.contains("malformed JSON"), "{err}");
    assert!(
        err.location
            .contains(&format!("/wiki/api/v2/spaces/{space_id}/pages")),
        "{err}"
    );
    // The next run from the same checkpoint gets the edit.
    let retry = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(retry.changed_after(full.newest()).len(), 1);
}

#[tokio::test]
async fn bad_credentials_and_unknown_spaces_are_clear_errors() {
    let fx = fixture(&[("ENG", 3)]).await;
    let creds = BTreeMap::from([
        ("email".to_string(), "x@example.com".to_string()),
        ("api_token".to_string(), "wrong".to_string()),
    ]);
    let mut src = ConfluenceSource::new("wiki", settings(&fx, json!({})), &creds).unwrap();
    let e = src.open(SyncMode::Full, None).await.unwrap_err();
    assert!(
        e.message.contains("401") && e.message.contains("credentials"),
        "{e}"
    );
    assert!(!e.message.contains("wrong"));
    let (mut src, _) = source(settings(&fx, json!({ "spaces": ["ENG", "NOPE"] })));
    let e = src.open(SyncMode::Full, None).await.unwrap_err();
    assert!(
        e.message.contains("NOPE") && e.message.contains("settings.spaces"),
        "{e}"
    );
    let err = ConfluenceSource::new("wiki", settings(&fx, json!({})), &BTreeMap::new())
        .err()
        .unwrap();
    assert!(err.contains("credentials.email"), "{err}");
}

#[test]
fn settings_are_checked_with_paths_and_hints() {
    let parse =
        |v: serde_json::Value| ConfluenceSettings::parse(&serde_json::from_value(v).unwrap());
    let errs = parse(json!({ "base_url": "https://acme.atlassian.net", "cql": "label = x", "page_size": 0, "timezone": "Mars/Base" })).unwrap_err();
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["base_url", "cql", "page_size", "timezone"],
        "{errs:?}"
    );
    let errs =
        parse(json!({ "base_url": "https://a.atlassian.net/wiki", "spacez": ["X"] })).unwrap_err();
    assert!(
        errs[0].message.contains("unknown field `spacez`"),
        "{errs:?}"
    );
    assert!(parse(json!({ "base_url": "https://c.corp/confluence", "deployment": "server", "cql": "creator = bob" })).is_ok());
}

#[tokio::test]
async fn server_v1_cql_full_incremental_prune_and_restrictions() {
    let fx = fixture(&[("ENG", 30)]).await;
    let extra = json!({ "deployment": "server", "page_size": 8, "overlap_minutes": 0, "exclude_labels": ["draft"], "space_principals": { "ENG": ["group:eng"] } });
    let (mut src, _) = source(settings(&fx, extra));
    let full = drain(&mut src, SyncMode::Full, None).await.unwrap();
    let w_ids: BTreeSet<String> = {
        let w = fx.shared.world();
        w.contents
            .values()
            .filter(|c| c.status == "current" && !c.labels.contains(&"draft".to_string()))
            .map(|c| c.id.to_string())
            .collect()
    };
    assert_eq!(full.ids(), w_ids);
    let eng: Vec<u64> = fx.shared.world().ids("ENG", "current");
    assert_eq!(
        access_sets(full.doc(eng[5]), "confluence:wiki:"),
        sets(&[&["group:eng"], &["group:sre", "user:557058:alice"]])
    );
    assert_eq!(
        access_sets(full.doc(eng[0]), "confluence:wiki:"),
        sets(&[&["group:eng"]])
    );
    assert!(full.doc(eng[0]).body.contains("## Comments"));
    let child = fx
        .shared
        .world()
        .contents
        .values()
        .find(|c| c.parent_id == Some(eng[5]))
        .unwrap()
        .id;
    assert_eq!(
        access_sets(full.doc(child), "confluence:wiki:").unwrap()[..2],
        sets(&[&["group:eng"], &["group:sre", "user:557058:alice"]]).unwrap()[..],
        "inherited from the ancestor"
    );
    assert!(full.requests_ok());

    let cursor = full.cursor.clone().unwrap();
    {
        let mut w = fx.shared.world();
        for _ in 0..20 {
            w.clock.tick();
        }
        w.retitle(eng[7], "Renamed page about quokka feeding");
    }
    let inc = drain(&mut src, SyncMode::Incremental, Some(&cursor))
        .await
        .unwrap();
    assert_eq!(
        inc.changed_after(full.newest()),
        BTreeSet::from([eng[7].to_string()])
    );
    let prune = drain(&mut src, SyncMode::Prune, None).await.unwrap();
    assert_eq!(
        prune.live.iter().cloned().collect::<BTreeSet<_>>(),
        full.ids()
    );
}

impl Drained {
    fn requests_ok(&self) -> bool {
        self.dead.is_empty()
    }
}

/// 10,000 pages through the Server/DC path: the connector holds one page of
/// results at a time, so resident memory stays flat across the run.
#[tokio::test]
async fn ten_thousand_pages_with_flat_memory() {
    let fx = fixture(&[("BIG", 10_000)]).await;
    let (mut src, _) = source(settings(
        &fx,
        json!({ "deployment": "server", "page_size": 100, "include_comments": false, "space_principals": { "BIG": ["group:all"] } }),
    ));
    src.open(SyncMode::Full, None).await.unwrap();
    let (mut n, mut pages, mut rss_after_warmup, mut rss_max) = (0usize, 0usize, 0u64, 0u64);
    while let Some(p) = src.next_page().await.unwrap() {
        n += p.documents.len();
        pages += 1;
        drop(p);
        let rss = rss_kib();
        if pages == 10 {
            rss_after_warmup = rss;
        }
        rss_max = rss_max.max(rss);
    }
    assert_eq!(n, 10_000);
    // Flat: growth after warm-up stays far below the data listed (~40 MB of bodies).
    let growth_mib = rss_max.saturating_sub(rss_after_warmup) / 1024;
    println!(
        "10k pages: {pages} requests, RSS after warm-up {} MiB, max {} MiB",
        rss_after_warmup / 1024,
        rss_max / 1024
    );
    assert!(growth_mib < 24, "RSS grew {growth_mib} MiB over the run");
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_listing_without_bodies_reads_each_body_and_skips_attachment_results() {
    for deployment in ["cloud", "server"] {
        let fx = fixture(&[("ENG", 6)]).await;
        {
            let mut w = fx.shared.world();
            w.listings_without_bodies = true;
            w.attachment_in_listings = true;
        }
        let extra = if deployment == "server" {
            json!({ "deployment": "server", "space_principals": { "ENG": ["group:eng"] } })
        } else {
            json!({})
        };
        let (mut src, _) = source(settings(&fx, extra));
        src.open(SyncMode::Full, None).await.unwrap();
        let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
        let w = fx.shared.world();
        assert_eq!(
            d.ids(),
            ids(&w, "ENG"),
            "{deployment}: every page, and no attachment indexed as a page"
        );
        assert!(d.dead.is_empty(), "{deployment}: {:?}", d.dead);
        for doc in &d.docs {
            let c = &w.contents[&doc.external_id.parse::<u64>().unwrap()];
            assert!(
                doc.body.contains("## Steps") && doc.body.contains("```bash"),
                "{deployment}: the body was read, not left empty: {}",
                doc.body
            );
            assert!(
                doc.body.starts_with(&format!("# {}", c.title)) || doc.body.starts_with('#'),
                "{}",
                doc.body
            );
        }
        assert!(!d.ids().contains("att900001"));
    }
}

#[tokio::test]
async fn a_body_that_cannot_be_read_is_a_dead_letter_not_an_empty_page() {
    let fx = fixture(&[("ENG", 3)]).await;
    let root = {
        let mut w = fx.shared.world();
        w.listings_without_bodies = true;
        *w.contents
            .iter()
            .find(|(_, c)| c.parent_id.is_none())
            .unwrap()
            .0
    };
    fx.shared
        .fail_next(&format!("/rest/api/content/{root}"), 403, 1);
    let (mut src, _) = source(settings(
        &fx,
        json!({ "deployment": "server", "space_principals": { "ENG": ["group:eng"] } }),
    ));
    src.open(SyncMode::Full, None).await.unwrap();
    let d = drain(&mut src, SyncMode::Full, None).await.unwrap();
    assert!(
        !d.ids().contains(&root.to_string()),
        "not indexed without its body"
    );
    assert_eq!(d.dead.len(), 1, "{:?}", d.dead);
    assert_eq!(
        d.dead[0].external_id.as_deref(),
        Some(root.to_string().as_str())
    );
    assert!(
        d.dead[0]
            .location
            .contains(&format!("/rest/api/content/{root}")),
        "{:?}",
        d.dead[0]
    );
    assert_eq!(d.docs.len(), 2);
}
