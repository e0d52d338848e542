//! The bundled demo pipeline, end to end: every sample document indexes and
//! the sample's evaluation queries find their answers.

use sluice_core::search::{Access, SearchFilters, SearchMode};
use sluice_tests::{pipeline, run, search};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pipeline_answers_the_sample_queries() {
    let repo = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"),
    )
    .join("..");
    let pipelines = repo.join("pipelines");
    let yaml = std::fs::read_to_string(pipelines.join("demo.yaml")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let p = pipeline(&yaml, &pipelines, data.path()).await;
    let r = run(&p, &yaml, &pipelines, false).await;
    assert!(!r.failed(), "{:#?}", r.sources);
    assert_eq!(r.dead_letters(), 0, "{:#?}", r.sources);
    let seen: Vec<(String, u64)> = r
        .sources
        .iter()
        .map(|s| (s.source.clone(), s.docs_added))
        .collect();
    assert_eq!(
        seen,
        [
            ("confluence", 103),
            ("jira", 96),
            ("gitlab-issues", 38),
            ("gitlab-mrs", 38),
            ("slack", 44),
            ("slack-private", 4)
        ]
        .map(|(s, n)| (s.to_string(), n))
        .to_vec()
    );

    // ACLs from the source shapes: HR pages need group:hr, private Slack
    // channels their members, confidential GitLab issues project members.
    let payloads = p
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .payloads()
        .unwrap();
    let public = |c: &&sluice_core::search::ChunkPayload| {
        sluice_core::DocAccess::from_slots(&c.acl) == Some(sluice_core::DocAccess::Public)
    };
    let restricted = |src: &str| {
        payloads
            .iter()
            .filter(|c| c.source == src && !public(c))
            .count()
    };
    assert!(
        restricted("confluence") > 0
            && restricted("slack-private") > 0
            && restricted("gitlab-issues") > 0
            && restricted("jira") > 0
    );
    assert_eq!(
        restricted("slack"),
        0,
        "public channels are readable by everyone"
    );
    assert!(
        payloads
            .iter()
            .filter(|c| c.source == "slack-private")
            .all(|c| c.acl[0]
                .iter()
                .all(|p| p.starts_with("slack:slack-private:user:"))),
        "#sec-ops: its members only"
    );
    assert!(
        payloads
            .iter()
            .any(|c| c.acl[0].contains(&"group:hr".to_string()))
    );
    assert!(
        payloads
            .iter()
            .any(|c| c.acl[0] == vec!["group:gitlab-project-members".to_string()])
    );

    let tsv = std::fs::read_to_string(pipelines.join("data/sample/queries.tsv")).unwrap();
    let source_of = |file: &str| match file {
        "confluence/pages.jsonl" => "confluence",
        "jira/issues.jsonl" => "jira",
        "gitlab/issues.jsonl" => "gitlab-issues",
        "gitlab/merge_requests.jsonl" => "gitlab-mrs",
        _ => "slack",
    };
    // The bodies went through the live connectors' converters: no raw
    // markup reaches a snippet.
    for c in &payloads {
        for raw in [
            "<@U",
            "<#C",
            "<https://",
            "\"type\":\"paragraph\"",
            "<ac:",
            "<p>",
            "&amp;",
            "&nbsp;",
        ] {
            assert!(
                !c.text.contains(raw),
                "{}: `{raw}` in the indexed text\n{}",
                c.source,
                c.text
            );
        }
        // Emphasis, not a glob such as `/webhooks/**`.
        assert!(
            !c.text
                .match_indices("**")
                .any(|(i, _)| c.text[i + 2..].starts_with(char::is_alphabetic)),
            "{}: Markdown emphasis in the indexed text\n{}",
            c.source,
            c.text
        );
    }
    let (mut total, mut top5) = (0, 0);
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let hits = search(
            &p,
            cols[0],
            SearchMode::Hybrid,
            Access::public_only(),
            SearchFilters::default(),
        )
        .await;
        total += 1;
        if hits
            .iter()
            .take(5)
            .any(|h| h.external_id == cols[2] && h.source == source_of(cols[1]))
        {
            top5 += 1;
        }
    }
    println!("sample queries answered in the top 5: {top5}/{total}");
    // 26/30 when issue 20 froze this list, 30/30 after its ranking work
    // (document-level BM25, calibrated fusion); below 26 is a regression.
    assert_eq!(total, 30);
    assert!(
        top5 >= 26,
        "only {top5}/30 sample queries found their answer in the top 5"
    );
}
