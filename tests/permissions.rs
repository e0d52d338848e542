//! The permission sync pass, end to end: a Confluence page restriction added
//! at the source (which does not bump the page's version, so an incremental
//! sync misses it) is applied in place in the embedded index, Qdrant and
//! Elasticsearch by one `--permissions` pass, with nothing embedded. The
//! time from the start of the pass to the page being hidden is printed.

use std::time::Instant;

use sluice_core::search::{Access, KeywordLeg, SearchFilters, VectorLeg};
use sluice_engine::RunOptions;
use sluice_fixtures::common::{FIXTURE_TOKEN, FIXTURE_USER};
use sluice_fixtures::confluence::{self, ConfluenceWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_spec::load_pipeline_str;
use sluice_tests::{embedder, index, pipeline};
use sluice_testservers::elastic_fixture::{ElasticFixture, Flavor};
use sluice_testservers::qdrant_server::QdrantEdgeServer;

fn yaml(confluence: &str, qdrant: &str, es: &str) -> String {
    format!(
        r#"
name: perms
sources:
  - id: wiki
    type: confluence
    settings:
      base_url: {confluence}/wiki
      spaces: [ENG]
      overlap_minutes: 0
      http: {{ requests_per_second: 2000, burst: 100 }}
    credentials:
      email: ${{SLUICE_TEST_ATLASSIAN_EMAIL}}
      api_token: ${{SLUICE_TEST_ATLASSIAN_TOKEN}}
chunking:
  max_tokens: 128
  overlap_tokens: 16
sinks:
  - type: embedded
  - type: qdrant
    url: {qdrant}
  - type: elasticsearch
    url: {es}
    refresh: wait_for
"#
    )
}

fn who(p: &[&str]) -> Access {
    Access::Principals(p.iter().map(|s| s.to_string()).collect())
}

/// Whether each backend (embedded keyword, embedded vector, Qdrant,
/// Elasticsearch) returns the page to this caller.
async fn seen_by(
    p: &sluice_engine::Pipeline,
    title: &str,
    ext: &str,
    access: &Access,
) -> [bool; 4] {
    let f = SearchFilters::default();
    let qv = embedder().embed(&[title]).unwrap().remove(0);
    let idx = index(p);
    let has =
        |hits: Vec<sluice_core::search::LegChunk>| hits.iter().any(|h| h.chunk.external_id == ext);
    let qdrant = p.store::<sluice_qdrant::QdrantStore>().unwrap();
    let es = p.store::<sluice_elastic::ElasticStore>().unwrap();
    [
        has(idx.keyword_chunks(title, 50, &f, access).unwrap()),
        has(idx.vector_chunks(&qv, 50, &f, access).unwrap()),
        has(qdrant.vector_search(&qv, 50, &f, access).await.unwrap()),
        has(es.keyword_search(title, 50, &f, access).await.unwrap()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restriction_added_at_the_source_hides_the_page_after_one_permission_pass() {
    // SAFETY: set before any thread reads the environment in this binary.
    unsafe {
        std::env::set_var("SLUICE_TEST_ATLASSIAN_EMAIL", FIXTURE_USER);
        std::env::set_var("SLUICE_TEST_ATLASSIAN_TOKEN", FIXTURE_TOKEN);
    }
    let cw = Shared::new(ConfluenceWorld::generate(&[("ENG", 12)]));
    let cs = FixtureServer::start(confluence::router(), cw.clone(), 0)
        .await
        .unwrap();
    let qdrant = QdrantEdgeServer::start().await.unwrap();
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let y = yaml(&cs.url(), &qdrant.url(), &es.url());
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;
    let run = |opts: RunOptions| {
        let loaded = load_pipeline_str(&y, "perms.yaml", dir.path()).unwrap();
        let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded).unwrap();
        let p = &p;
        async move { p.run(sources, &opts).await }
    };
    let r = run(RunOptions::default()).await;
    assert!(r.sources[0].docs_added > 0, "{:?}", r.sources[0]);

    // The oldest unrestricted root page (outside the incremental overlap).
    let (page, title) = {
        let w = cw.world();
        let c = w
            .contents
            .values()
            .filter(|c| {
                c.parent_id.is_none()
                    && c.restricted_users.is_empty()
                    && c.restricted_groups.is_empty()
                    && c.status == "current"
            })
            .min_by_key(|c| c.modified)
            .unwrap();
        (c.id, c.title.clone())
    };
    let ext = page.to_string();
    let bob = who(&[
        "confluence:wiki:user:557058:bob",
        "confluence:wiki:group:confluence-users",
    ]);
    let alice = who(&[
        "confluence:wiki:user:557058:alice",
        "confluence:wiki:group:confluence-users",
    ]);
    assert_eq!(
        seen_by(&p, &title, &ext, &bob).await,
        [true; 4],
        "readable by every space reader before"
    );
    // A child page links to it (`child_of`); `related` follows the access
    // the stores hold, so the pass below hides it there too.
    let child = cw
        .world()
        .contents
        .values()
        .find(|c| c.parent_id == Some(page))
        .map(|c| sluice_core::doc_id("wiki", &c.id.to_string()))
        .expect("the fixture's oldest root page has a child");
    let parent_id = sluice_core::doc_id("wiki", &ext);
    let linked = |access: Access| {
        let backend = p.search_backend().unwrap();
        async move {
            backend
                .related(&[child], &access, 20)
                .await
                .unwrap()
                .remove(&child)
                .unwrap_or_default()
        }
    };
    assert!(
        linked(bob.clone())
            .await
            .iter()
            .any(|r| r.doc_id == parent_id && r.edge == "child_of")
    );

    // The restriction lands at the source. An incremental sync does not see
    // it (the page's version did not change).
    cw.world().restrict(page, &["557058:alice"], &[]);
    run(RunOptions::default()).await;
    assert_eq!(
        seen_by(&p, &title, &ext, &bob).await,
        [true; 4],
        "still visible: the content sync cannot tell"
    );

    // One permission pass.
    let started = Instant::now();
    let r = run(RunOptions {
        permissions: true,
        ..Default::default()
    })
    .await;
    let revoked_after = started.elapsed();
    let s = &r.sources[0];
    assert_eq!(s.status, sluice_engine::SourceStatus::Ok, "{s:?}");
    assert!(s.access_updated >= 1, "{s:?}");
    assert_eq!(
        (
            s.chunks_embedded,
            s.chunks_written,
            s.docs_added,
            s.docs_deleted
        ),
        (0, 0, 0, 0),
        "nothing embedded or rewritten: {s:?}"
    );
    assert_eq!(
        seen_by(&p, &title, &ext, &bob).await,
        [false; 4],
        "hidden from bob in every backend"
    );
    assert_eq!(
        seen_by(&p, &title, &ext, &alice).await,
        [true; 4],
        "still there for alice"
    );
    assert!(
        !linked(bob.clone())
            .await
            .iter()
            .any(|r| r.doc_id == parent_id),
        "not even as a related title"
    );
    assert!(
        linked(alice.clone())
            .await
            .iter()
            .any(|r| r.doc_id == parent_id)
    );
    println!(
        "time-to-revocation: {} ms for one permission pass over {} pages ({} access updates, 0 embeddings)",
        revoked_after.as_millis(),
        s.docs_seen,
        s.access_updated
    );

    // A second pass finds nothing to change.
    let r = run(RunOptions {
        permissions: true,
        ..Default::default()
    })
    .await;
    assert_eq!(r.sources[0].access_updated, 0, "{:?}", r.sources[0]);

    // A page the listing no longer shows (gone, or restricted away from the
    // connector's account) is quarantined by the pass: hidden from every
    // caller in every backend, not deleted.
    let (gone, gone_title) = {
        let w = cw.world();
        let c = w
            .contents
            .values()
            .filter(|c| {
                c.id != page
                    && c.restricted_users.is_empty()
                    && c.restricted_groups.is_empty()
                    && c.status == "current"
            })
            .max_by_key(|c| c.modified)
            .unwrap();
        (c.id, c.title.clone())
    };
    assert_eq!(
        seen_by(&p, &gone_title, &gone.to_string(), &alice).await,
        [true; 4]
    );
    cw.world().purge(gone);
    let r = run(RunOptions {
        permissions: true,
        ..Default::default()
    })
    .await;
    assert!(r.sources[0].access_updated >= 1, "{:?}", r.sources[0]);
    assert_eq!(
        seen_by(&p, &gone_title, &gone.to_string(), &alice).await,
        [false; 4],
        "quarantined"
    );
    assert!(
        index(&p)
            .payloads()
            .unwrap()
            .iter()
            .any(|c| c.external_id == gone.to_string()),
        "not deleted by the pass"
    );
    // And the next content sync rewrites payloads only, with stored vectors.
    let r = run(RunOptions {
        full: true,
        ..Default::default()
    })
    .await;
    assert_eq!(r.sources[0].chunks_embedded, 0, "{:?}", r.sources[0]);
    assert_eq!(seen_by(&p, &title, &ext, &bob).await, [false; 4]);
}

/// With a transform, the stored access may be the SQL's; the pass then
/// intersects the source's new access with it — a revocation applies at
/// once, nothing is ever widened — and the next full sync writes the
/// transform's result again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_transform_the_pass_narrows_and_never_widens() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: narrow\nsources:\n  - id: kb\n    type: files\n    settings:\n      path: kb.jsonl\n      mapping:\n        acl: acl\ntransform:\n  sql: SELECT *, upper(title) AS shout FROM records\n";
    let write = |acl: &[&str]| {
        sluice_tests::write_jsonl(
            &dir.path().join("kb.jsonl"),
            &[
                serde_json::json!({"id": "plan", "title": "Reorg plan", "text": "The reorganisation plan for next quarter.", "acl": acl}),
            ],
        )
    };
    write(&["group:eng"]);
    let p = pipeline(yaml, dir.path(), &dir.path().join("data")).await;
    let run = |opts: RunOptions| {
        let loaded = load_pipeline_str(yaml, "narrow.yaml", dir.path()).unwrap();
        let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded).unwrap();
        let p = &p;
        async move { p.run(sources, &opts).await }
    };
    run(RunOptions::default()).await;
    let sees = |a: Access| {
        let idx = index(&p);
        !idx.keyword_chunks("reorganisation plan", 10, &SearchFilters::default(), &a)
            .unwrap()
            .is_empty()
    };
    assert!(sees(who(&["group:eng"])));

    // The plan moves to HR at the source.
    write(&["group:hr"]);
    let r = run(RunOptions {
        permissions: true,
        ..Default::default()
    })
    .await;
    assert_eq!(
        (r.sources[0].access_updated, r.sources[0].chunks_embedded),
        (1, 0),
        "{:?}",
        r.sources[0]
    );
    assert!(!sees(who(&["group:eng"])), "revoked at once");
    assert!(!sees(who(&["group:hr"])), "not widened to HR by the pass");
    assert!(sees(who(&["group:eng", "group:hr"])));
    // The next full sync applies the transform to the new access.
    run(RunOptions {
        full: true,
        ..Default::default()
    })
    .await;
    assert!(sees(who(&["group:hr"])));
    assert!(!sees(who(&["group:eng"])));
}

/// Slack: the pass lists channels and their members, not history. A member
/// who leaves a private channel loses its documents after one pass, nothing
/// is embedded, and the documents of a channel the bot was removed from are
/// quarantined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_leaves_a_slack_channel_loses_it_after_one_pass() {
    use sluice_fixtures::slack::{self, SlackWorld};
    // SAFETY: set before any thread reads the environment in this binary.
    unsafe { std::env::set_var("SLUICE_TEST_SLACK_PERMS_TOKEN", FIXTURE_TOKEN) };
    let sw = Shared::new(SlackWorld::generate(&[
        ("eng", false, 12),
        ("incidents", true, 9),
    ]));
    let ss = FixtureServer::start(slack::router(), sw.clone(), 0)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let y = format!(
        "name: chat\nsources:\n  - id: chat\n    type: slack\n    settings:\n      base_url: {}/api\n      tier2_per_minute: 600000\n      tier3_per_minute: 600000\n    credentials:\n      token: ${{SLUICE_TEST_SLACK_PERMS_TOKEN}}\n",
        ss.url()
    );
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;
    let run = |opts: RunOptions| {
        let loaded = load_pipeline_str(&y, "chat.yaml", dir.path()).unwrap();
        let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded).unwrap();
        let p = &p;
        async move { p.run(sources, &opts).await }
    };
    let r = run(RunOptions::default()).await;
    assert!(r.sources[0].docs_added > 0, "{:?}", r.sources[0]);
    let (inc, eng) = {
        let w = sw.world();
        let id = |n: &str| w.channels.iter().find(|c| c.name == n).unwrap().id.clone();
        (id("incidents"), id("eng"))
    };
    let carol = who(&["slack:chat:user:U03CAROL", "slack:chat:workspace"]);
    let alice = who(&["slack:chat:user:U01ALICE", "slack:chat:workspace"]);
    // How many of a channel's indexed documents each caller can reach (the
    // vector leg returns each document once, by its nearest chunk).
    let reach = |a: &Access, channel: &str| {
        let idx = index(&p);
        let all = idx.payloads().unwrap();
        let theirs = all
            .iter()
            .filter(|c| c.external_id.contains(channel))
            .map(|c| c.doc_id)
            .collect::<std::collections::HashSet<_>>()
            .len();
        let visible = idx
            .vector_chunks(&vec![0.1; 384], 10_000, &SearchFilters::default(), a)
            .unwrap()
            .iter()
            .filter(|h| h.chunk.external_id.contains(channel))
            .count();
        (visible, theirs)
    };
    let (seen, total) = reach(&carol, &inc);
    assert!(
        total > 0 && seen == total,
        "carol reads #incidents before: {seen}/{total}"
    );

    sw.world()
        .channel_mut("incidents")
        .unwrap()
        .members
        .retain(|m| m != "U03CAROL");
    sw.clear_requests();
    let r = run(RunOptions {
        permissions: true,
        ..Default::default()
    })
    .await;
    let s = &r.sources[0];
    assert_eq!(s.status, sluice_engine::SourceStatus::Ok, "{s:?}");
    assert_eq!(
        (
            s.chunks_embedded,
            s.chunks_written,
            s.docs_added,
            s.docs_deleted
        ),
        (0, 0, 0, 0),
        "{s:?}"
    );
    assert!(
        sw.requests()
            .iter()
            .all(|r| !r.contains("conversations.history") && !r.contains("conversations.replies")),
        "history is not read"
    );
    assert_eq!(reach(&carol, &inc).0, 0, "carol left #incidents");
    assert_eq!(reach(&alice, &inc).0, total, "alice still reads it");
    let (eng_seen, eng_total) = reach(&carol, &eng);
    assert!(
        eng_total > 0 && eng_seen == eng_total,
        "#eng is the workspace's"
    );

    // The bot is removed from #eng: its documents are hidden, not deleted.
    sw.world().channel_mut("eng").unwrap().is_member = false;
    let r = run(RunOptions {
        permissions: true,
        ..Default::default()
    })
    .await;
    assert!(
        r.sources[0].access_updated as usize >= 1,
        "{:?}",
        r.sources[0]
    );
    assert_eq!(
        reach(&alice, &eng),
        (0, eng_total),
        "quarantined, still stored"
    );
}
