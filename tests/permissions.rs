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
use sluice_testservers::elastic_fixture::{ElasticFixture, Flavor};
use sluice_testservers::qdrant_server::QdrantEdgeServer;
use sluice_tests::{embedder, index, pipeline};

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
async fn seen_by(p: &sluice_engine::Pipeline, title: &str, ext: &str, access: &Access) -> [bool; 4] {
    let f = SearchFilters::default();
    let qv = embedder().embed(&[title]).unwrap().remove(0);
    let idx = index(p);
    let has = |hits: Vec<sluice_core::search::LegChunk>| hits.iter().any(|h| h.chunk.external_id == ext);
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
    let cs = FixtureServer::start(confluence::router(), cw.clone(), 0).await.unwrap();
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
        let c = w.contents.values().filter(|c| c.parent_id.is_none() && c.restricted_users.is_empty() && c.restricted_groups.is_empty() && c.status == "current").min_by_key(|c| c.modified).unwrap();
        (c.id, c.title.clone())
    };
    let ext = page.to_string();
    let bob = who(&["confluence:wiki:user:557058:bob", "confluence:wiki:group:confluence-users"]);
    let alice = who(&["confluence:wiki:user:557058:alice", "confluence:wiki:group:confluence-users"]);
    assert_eq!(seen_by(&p, &title, &ext, &bob).await, [true; 4], "readable by every space reader before");

    // The restriction lands at the source. An incremental sync does not see
    // it (the page's version did not change).
    cw.world().restrict(page, &["557058:alice"], &[]);
    run(RunOptions::default()).await;
    assert_eq!(seen_by(&p, &title, &ext, &bob).await, [true; 4], "still visible: the content sync cannot tell");

    // One permission pass.
    let started = Instant::now();
    let r = run(RunOptions { permissions: true, ..Default::default() }).await;
    let revoked_after = started.elapsed();
    let s = &r.sources[0];
    assert_eq!(s.status, sluice_engine::SourceStatus::Ok, "{s:?}");
    assert!(s.access_updated >= 1, "{s:?}");
    assert_eq!((s.chunks_embedded, s.chunks_written, s.docs_added, s.docs_deleted), (0, 0, 0, 0), "nothing embedded or rewritten: {s:?}");
    assert_eq!(seen_by(&p, &title, &ext, &bob).await, [false; 4], "hidden from bob in every backend");
    assert_eq!(seen_by(&p, &title, &ext, &alice).await, [true; 4], "still there for alice");
    println!(
        "time-to-revocation: {} ms for one permission pass over {} pages ({} access updates, 0 embeddings)",
        revoked_after.as_millis(),
        s.docs_seen,
        s.access_updated
    );

    // A second pass finds nothing to change.
    let r = run(RunOptions { permissions: true, ..Default::default() }).await;
    assert_eq!(r.sources[0].access_updated, 0, "{:?}", r.sources[0]);

    // A page the listing no longer shows (gone, or restricted away from the
    // connector's account) is quarantined by the pass: hidden from every
    // caller in every backend, not deleted.
    let (gone, gone_title) = {
        let w = cw.world();
        let c = w.contents.values().filter(|c| c.id != page && c.restricted_users.is_empty() && c.restricted_groups.is_empty() && c.status == "current").max_by_key(|c| c.modified).unwrap();
        (c.id, c.title.clone())
    };
    assert_eq!(seen_by(&p, &gone_title, &gone.to_string(), &alice).await, [true; 4]);
    cw.world().purge(gone);
    let r = run(RunOptions { permissions: true, ..Default::default() }).await;
    assert!(r.sources[0].access_updated >= 1, "{:?}", r.sources[0]);
    assert_eq!(seen_by(&p, &gone_title, &gone.to_string(), &alice).await, [false; 4], "quarantined");
    assert!(index(&p).payloads().unwrap().iter().any(|c| c.external_id == gone.to_string()), "not deleted by the pass");
    // And the next content sync rewrites payloads only, with stored vectors.
    let r = run(RunOptions { full: true, ..Default::default() }).await;
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
    let write = |acl: &[&str]| sluice_tests::write_jsonl(&dir.path().join("kb.jsonl"), &[serde_json::json!({"id": "plan", "title": "Reorg plan", "text": "The reorganisation plan for next quarter.", "acl": acl})]);
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
        !idx.keyword_chunks("reorganisation plan", 10, &SearchFilters::default(), &a).unwrap().is_empty()
    };
    assert!(sees(who(&["group:eng"])));

    // The plan moves to HR at the source.
    write(&["group:hr"]);
    let r = run(RunOptions { permissions: true, ..Default::default() }).await;
    assert_eq!((r.sources[0].access_updated, r.sources[0].chunks_embedded), (1, 0), "{:?}", r.sources[0]);
    assert!(!sees(who(&["group:eng"])), "revoked at once");
    assert!(!sees(who(&["group:hr"])), "not widened to HR by the pass");
    assert!(sees(who(&["group:eng", "group:hr"])));
    // The next full sync applies the transform to the new access.
    run(RunOptions { full: true, ..Default::default() }).await;
    assert!(sees(who(&["group:hr"])));
    assert!(!sees(who(&["group:eng"])));
}
