//! Confluence and Jira end to end: fixture servers → real connectors →
//! the real engine (chunker, ONNX embeddings) → the embedded index. Runs
//! a full sync, edits/trash/purge/delete at the source, an incremental
//! run, a prune pass, an unchanged re-run, and a failing source beside a
//! healthy one.

use sluice_core::search::{Access, SearchFilters, SearchMode};
use sluice_engine::{RunOptions, SourceStatus};
use sluice_fixtures::common::{FIXTURE_TOKEN, FIXTURE_USER};
use sluice_fixtures::confluence::{self, ConfluenceWorld};
use sluice_fixtures::jira::{self, JiraWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_spec::load_pipeline_str;
use sluice_tests::{pipeline, search};

fn yaml(confluence: &str, jira: &str) -> String {
    format!(
        r#"
name: atlassian
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
  - id: tickets
    type: jira
    settings:
      base_url: {jira}
      projects: [ENG]
      overlap_minutes: 1
      http: {{ requests_per_second: 2000, burst: 100 }}
    credentials:
      email: ${{SLUICE_TEST_ATLASSIAN_EMAIL}}
      api_token: ${{SLUICE_TEST_ATLASSIAN_TOKEN}}
chunking:
  max_tokens: 128
  overlap_tokens: 16
"#
    )
}

async fn run(
    p: &sluice_engine::Pipeline,
    yaml: &str,
    dir: &std::path::Path,
    opts: RunOptions,
) -> sluice_engine::RunReport {
    let loaded = load_pipeline_str(yaml, "atlassian.yaml", dir).unwrap();
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    p.run(sources, &opts).await
}

fn titles(hits: &[sluice_core::search::Hit]) -> Vec<String> {
    hits.iter().map(|h| h.title.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluence_and_jira_sync_incrementally_and_prune_deletions() {
    // SAFETY: set before any thread reads the environment in this binary.
    unsafe {
        std::env::set_var("SLUICE_TEST_ATLASSIAN_EMAIL", FIXTURE_USER);
        std::env::set_var("SLUICE_TEST_ATLASSIAN_TOKEN", FIXTURE_TOKEN);
    }
    let cw = Shared::new(ConfluenceWorld::generate(&[("ENG", 14), ("OPS", 3)]));
    let jw = Shared::new(JiraWorld::generate(&[("ENG", 10)]));
    let cs = FixtureServer::start(confluence::router(), cw.clone(), 0)
        .await
        .unwrap();
    let js = FixtureServer::start(jira::router(), jw.clone(), 0)
        .await
        .unwrap();
    let y = yaml(&cs.url(), &js.url());
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;

    // 1. Full sync.
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    for s in &r.sources {
        assert_eq!(s.status, SourceStatus::Ok, "{s:?}");
        assert_eq!(s.mode, "full");
    }
    let pages = cw.world().ids("ENG", "current");
    assert_eq!(r.sources[0].docs_added as usize, pages.len());
    assert_eq!(r.sources[1].docs_added, 10);
    let hits = search(
        &p,
        "roll back a bad release to the previous container image",
        SearchMode::Hybrid,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert!(
        hits[0].title.starts_with("Deployment rollback procedure"),
        "{:?}",
        titles(&hits)
    );

    // Access: page k=5 of ENG (and its subtree) is restricted to alice / sre,
    // on top of the space's readers (confluence-users).
    let restricted_title = cw.world().contents[&pages[5]].title.clone();
    let who = |p: &[&str]| Access::Principals(p.iter().map(|x| x.to_string()).collect());
    let as_bob = search(
        &p,
        &restricted_title,
        SearchMode::Keyword,
        who(&[
            "confluence:wiki:user:557058:bob",
            "confluence:wiki:group:confluence-users",
        ]),
        SearchFilters::default(),
    )
    .await;
    assert!(
        !titles(&as_bob).contains(&restricted_title),
        "bob must not see {restricted_title}"
    );
    let alice_without_space = search(
        &p,
        &restricted_title,
        SearchMode::Keyword,
        who(&["confluence:wiki:user:557058:alice"]),
        SearchFilters::default(),
    )
    .await;
    assert!(
        !titles(&alice_without_space).contains(&restricted_title),
        "the restriction and the space both apply"
    );
    let unqualified = search(
        &p,
        &restricted_title,
        SearchMode::Keyword,
        who(&["user:557058:alice", "group:confluence-users"]),
        SearchFilters::default(),
    )
    .await;
    assert!(
        !titles(&unqualified).contains(&restricted_title),
        "principals of no system grant nothing"
    );
    let as_alice = search(
        &p,
        &restricted_title,
        SearchMode::Keyword,
        who(&[
            "confluence:wiki:user:557058:alice",
            "confluence:wiki:group:confluence-users",
        ]),
        SearchFilters::default(),
    )
    .await;
    assert_eq!(as_alice[0].title, restricted_title);
    // ENG-5 has a security level only alice may see.
    let eng5 = jw.world().find("ENG-5").unwrap().summary.clone();
    let as_carol = search(
        &p,
        &format!("ENG-5: {eng5}"),
        SearchMode::Keyword,
        Access::Principals(vec!["jira:tickets:user:557058:carol".into()]),
        SearchFilters {
            sources: vec!["tickets".into()],
            ..Default::default()
        },
    )
    .await;
    assert!(
        !titles(&as_carol).iter().any(|t| t.starts_with("ENG-5:")),
        "{:?}",
        titles(&as_carol)
    );

    // 2. Changes at the source.
    let (edited, trashed, purged) = (pages[2], pages[4], pages[6]);
    let purged_title = cw.world().contents[&purged].title.clone();
    let before = search(
        &p,
        &purged_title,
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(before[0].title, purged_title);
    {
        let mut w = cw.world();
        w.edit(
            edited,
            "<h2>Zebra crossing</h2><p>The zebra crossing audit happens every spring.</p>",
        );
        w.set_status(trashed, "trashed");
        w.purge(purged);
    }
    {
        let mut w = jw.world();
        for _ in 0..5 {
            w.clock.tick();
        }
        w.edit("ENG-3", Some("Flamingo dashboard shows stale data"), None);
        w.delete("ENG-7");
    }
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert!(
        r.sources
            .iter()
            .all(|s| s.mode == "incremental" && s.status == SourceStatus::Ok),
        "{r:?}"
    );
    assert_eq!(r.sources[0].docs_updated, 1);
    assert_eq!(
        r.sources[0].docs_deleted, 1,
        "the trashed page; the purged one needs a prune"
    );
    assert_eq!(r.sources[1].docs_updated, 1);
    let hits = search(
        &p,
        "zebra crossing audit",
        SearchMode::Hybrid,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(hits[0].title, cw.world().contents[&edited].title);
    let hits = search(
        &p,
        "flamingo dashboard stale",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(hits[0].title, "ENG-3: Flamingo dashboard shows stale data");

    // 3. Prune pass: ids only; the purged page and the deleted issue go.
    cw.clear_requests();
    let r = run(
        &p,
        &y,
        dir.path(),
        RunOptions {
            prune: true,
            ..Default::default()
        },
    )
    .await;
    assert!(
        r.sources.iter().all(|s| s.mode == "prune" && s.pruned),
        "{r:?}"
    );
    assert_eq!(r.sources[0].docs_deleted, 1);
    assert_eq!(r.sources[1].docs_deleted, 1);
    assert_eq!(r.sources.iter().map(|s| s.chunks_embedded).sum::<u64>(), 0);
    assert!(
        cw.requests().iter().all(|q| !q.contains("body-format")),
        "prune fetched bodies"
    );
    let counts = p.state().count_documents("atlassian").unwrap();
    let count = |s: &str| counts.iter().find(|c| c.0 == s).map(|c| c.1).unwrap_or(0);
    assert_eq!(
        count("wiki") as usize,
        cw.world().ids("ENG", "current").len()
    );
    assert_eq!(count("tickets") as usize, jw.world().keys("ENG").len());
    let gone = search(
        &p,
        &purged_title,
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert!(
        !titles(&gone).contains(&purged_title),
        "{:?}",
        titles(&gone)
    );

    // 4. Nothing changed: nothing is embedded or written.
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert_eq!(
        r.sources
            .iter()
            .map(|s| s.chunks_embedded + s.chunks_written)
            .sum::<u64>(),
        0,
        "{r:?}"
    );

    // 5. A broken Jira page fails only Jira; its checkpoint stays, so the
    // next run still picks up the change.
    let cursor_before = p.state().checkpoint("atlassian", "tickets").unwrap();
    {
        let mut w = jw.world();
        for _ in 0..5 {
            w.clock.tick();
        }
        w.edit("ENG-9", Some("Narwhal queue backlog"), None);
    }
    cw.world().edit(pages[8], "<p>Okapi runbook revision.</p>");
    jw.malformed_next("/rest/api/3/search/jql");
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert_eq!(r.sources[0].status, SourceStatus::Ok);
    assert_eq!(r.sources[0].docs_updated, 1);
    match &r.sources[1].status {
        SourceStatus::Failed(e) => assert!(
            e.contains("malformed JSON") && e.contains("/rest/api/3/search/jql"),
            "{e}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(
        p.state().checkpoint("atlassian", "tickets").unwrap(),
        cursor_before
    );
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert_eq!(r.sources[1].status, SourceStatus::Ok);
    assert_eq!(r.sources[1].docs_updated, 1);
    let hits = search(
        &p,
        "narwhal queue backlog",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(hits[0].title, "ENG-9: Narwhal queue backlog");
}
