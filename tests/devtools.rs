//! GitLab and Slack end to end: fixture servers → real connectors → the
//! real engine → the embedded index, plus the bundled Slack export
//! pipeline. Full sync, changes at the source, incremental run, prune pass,
//! unchanged re-run, ACLs checked through search.

use sluice_core::search::{Access, SearchFilters, SearchMode};
use sluice_engine::{RunOptions, SourceStatus};
use sluice_fixtures::common::FIXTURE_TOKEN;
use sluice_fixtures::gitlab::{self, GitlabWorld};
use sluice_fixtures::slack::{self, SlackWorld};
use sluice_fixtures::{FixtureServer, Shared};
use sluice_spec::load_pipeline_str;
use sluice_tests::{pipeline, search};

fn yaml(gitlab: &str, slack: &str) -> String {
    format!(
        r#"
name: devtools
sources:
  - id: gitlab
    type: gitlab
    settings:
      base_url: {gitlab}
      groups: [acme]
      overlap_minutes: 0
      http: {{ requests_per_second: 2000, burst: 100 }}
    credentials:
      token: ${{SLUICE_TEST_DEVTOOLS_TOKEN}}
  - id: slack
    type: slack
    settings:
      base_url: {slack}/api
      lookback_hours: 12
      tier2_per_minute: 600000
      tier3_per_minute: 600000
    credentials:
      token: ${{SLUICE_TEST_DEVTOOLS_TOKEN}}
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
    let loaded = load_pipeline_str(yaml, "devtools.yaml", dir).unwrap();
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded)
        .unwrap_or_else(|d| panic!("{d:#?}"));
    p.run(sources, &opts).await
}

fn titles(hits: &[sluice_core::search::Hit]) -> Vec<String> {
    hits.iter().map(|h| h.title.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_and_slack_sync_incrementally_and_prune_deletions() {
    // SAFETY: set before any thread of this test binary reads the environment.
    unsafe { std::env::set_var("SLUICE_TEST_DEVTOOLS_TOKEN", FIXTURE_TOKEN) };
    let gw = Shared::new(GitlabWorld::generate(&[
        ("acme/platform/api", "private", 6),
        ("acme/handbook", "public", 2),
    ]));
    let sw = Shared::new(SlackWorld::generate(&[
        ("eng", false, 12),
        ("incidents", true, 4),
    ]));
    let gs = FixtureServer::start(gitlab::router(), gw.clone(), 0)
        .await
        .unwrap();
    let ss = FixtureServer::start(slack::router(), sw.clone(), 0)
        .await
        .unwrap();
    let y = yaml(&gs.url(), &ss.url());
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline(&y, dir.path(), &dir.path().join("data")).await;

    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert!(
        r.sources
            .iter()
            .all(|s| s.status == SourceStatus::Ok && s.mode == "full" && s.docs_added > 0),
        "{r:?}"
    );
    // Confidential issue #4 of the private project: not for the guest member,
    // not for its assignee who is no member, yes for a Reporter+ member.
    let conf = gw
        .world()
        .issue_mut("acme/platform/api", 4, false)
        .unwrap()
        .title
        .clone();
    let gl = SearchFilters {
        sources: vec!["gitlab".into()],
        ..Default::default()
    };
    let as_guest = search(
        &p,
        &conf,
        SearchMode::Keyword,
        Access::Principals(vec!["gitlab:gitlab:user:guest-gina".into()]),
        gl.clone(),
    )
    .await;
    assert!(
        !titles(&as_guest).contains(&conf),
        "{:?}",
        titles(&as_guest)
    );
    let as_carol = search(
        &p,
        &conf,
        SearchMode::Keyword,
        Access::Principals(vec!["gitlab:gitlab:user:carol".into()]),
        gl.clone(),
    )
    .await;
    assert!(
        !titles(&as_carol).contains(&conf),
        "{:?}",
        titles(&as_carol)
    );
    let as_alice = search(
        &p,
        &conf,
        SearchMode::Keyword,
        Access::Principals(vec!["gitlab:gitlab:user:alice".into()]),
        gl,
    )
    .await;
    assert_eq!(as_alice[0].title, conf);
    // The private Slack channel is for its members only.
    let private = SearchFilters {
        sources: vec!["slack".into()],
        ..Default::default()
    };
    let outsider = search(
        &p,
        "incidents",
        SearchMode::Keyword,
        Access::Principals(vec![
            "slack:slack:workspace".into(),
            "slack:slack:user:U02BOB".into(),
        ]),
        private.clone(),
    )
    .await;
    assert!(
        outsider.iter().all(|h| !h.title.starts_with("#incidents")),
        "{:?}",
        titles(&outsider)
    );
    let member = search(
        &p,
        "incidents",
        SearchMode::Keyword,
        Access::Principals(vec!["slack:slack:user:U01ALICE".into()]),
        private.clone(),
    )
    .await;
    assert!(
        member.iter().any(|h| h.title.starts_with("#incidents")),
        "{:?}",
        titles(&member)
    );

    // Changes: an issue edited, a file added, a Slack message posted and another edited.
    {
        let mut w = gw.world();
        w.edit_issue(
            "acme/platform/api",
            2,
            false,
            "Quetzal exporter drops metrics",
        );
        w.commit("acme/handbook", &[("docs/travel.md", Some("# Travel policy\n\nBook trains for trips under 600 km; the tapir fund covers rail passes."))]);
    }
    let thread = sw
        .world()
        .top_level("eng")
        .iter()
        .rev()
        .find(|m| m.thread_ts.is_some())
        .unwrap()
        .ts
        .clone();
    {
        let mut w = sw.world();
        w.post(
            "eng",
            "U02BOB",
            "Does anyone know the narwhal deploy freeze dates?",
            None,
        );
        w.post(
            "eng",
            "U01ALICE",
            "Follow-up: the ocelot fix is merged",
            Some(&thread),
        );
    }
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert!(
        r.sources
            .iter()
            .all(|s| s.status == SourceStatus::Ok && s.mode == "incremental"),
        "{r:?}"
    );
    let mut found = Vec::new();
    for (q, source) in [
        ("quetzal exporter metrics", "gitlab"),
        ("tapir fund rail passes", "gitlab"),
        ("narwhal deploy freeze", "slack"),
        ("ocelot fix merged", "slack"),
    ] {
        let hits = search(
            &p,
            q,
            SearchMode::Keyword,
            Access::All,
            SearchFilters {
                sources: vec![source.into()],
                ..Default::default()
            },
        )
        .await;
        assert!(!hits.is_empty(), "{q}: nothing found");
        found.push(hits[0].title.clone());
    }
    assert_eq!(found[0], "Quetzal exporter drops metrics");
    assert_eq!(found[1], "docs/travel.md");
    let ocelot_thread = found[3].clone();
    assert!(ocelot_thread.starts_with("#eng: "), "{ocelot_thread}");

    // Deletions: an issue and a Slack thread; the prune pass removes them.
    gw.world().delete_issue("acme/platform/api", 3, false);
    sw.world().delete("eng", &thread);
    let before = p.state().count_documents("devtools").unwrap();
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
        r.sources
            .iter()
            .all(|s| s.mode == "prune" && s.pruned && s.chunks_embedded == 0),
        "{r:?}"
    );
    assert_eq!(r.sources[0].docs_deleted, 1, "{r:?}");
    assert!(r.sources[1].docs_deleted >= 1, "{r:?}");
    let after = p.state().count_documents("devtools").unwrap();
    assert!(after.iter().map(|c| c.1).sum::<u64>() < before.iter().map(|c| c.1).sum::<u64>());
    let gone = search(
        &p,
        "ocelot fix merged",
        SearchMode::Keyword,
        Access::All,
        SearchFilters {
            sources: vec!["slack".into()],
            ..Default::default()
        },
    )
    .await;
    assert!(
        !titles(&gone).contains(&ocelot_thread),
        "{:?}",
        titles(&gone)
    );

    // Unchanged: nothing embedded or written.
    let r = run(&p, &y, dir.path(), RunOptions::default()).await;
    assert_eq!(
        r.sources
            .iter()
            .map(|s| s.chunks_embedded + s.chunks_written)
            .sum::<u64>(),
        0,
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_slack_export_pipeline_runs_with_acls() {
    let repo =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo test"))
            .join("..");
    let dir = repo.join("pipelines");
    let yaml = std::fs::read_to_string(dir.join("slack-export.yaml")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let p = pipeline(&yaml, &dir, data.path()).await;
    let loaded = load_pipeline_str(&yaml, "slack-export.yaml", &dir).unwrap();
    let r = p
        .run(
            sluice_engine::build_sources(&sluice_catalog::registry(), &loaded).unwrap(),
            &RunOptions::default(),
        )
        .await;
    assert_eq!(r.sources[0].status, SourceStatus::Ok);
    assert_eq!(r.sources[0].docs_added, 4);
    let everyone = Access::Principals(vec!["slack:slack:workspace".into()]);
    let hits = search(
        &p,
        "scanner firmware failed with error E-217",
        SearchMode::Hybrid,
        everyone.clone(),
        SearchFilters::default(),
    )
    .await;
    assert!(
        hits[0]
            .title
            .starts_with("#general: Where is the checklist"),
        "{:?}",
        titles(&hits)
    );
    let hits = search(
        &p,
        "reefer truck temperature",
        SearchMode::Keyword,
        everyone,
        SearchFilters::default(),
    )
    .await;
    assert!(
        hits.iter().all(|h| !h.title.starts_with("#oncall-private")),
        "{:?}",
        titles(&hits)
    );
    let hits = search(
        &p,
        "reefer truck temperature",
        SearchMode::Keyword,
        Access::Principals(vec!["slack:slack:user:U03LENA".into()]),
        SearchFilters::default(),
    )
    .await;
    assert!(
        hits[0].title.starts_with("#oncall-private"),
        "{:?}",
        titles(&hits)
    );
}
