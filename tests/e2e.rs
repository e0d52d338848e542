//! End to end through the real engine: files source → SQL → chunker → real
//! ONNX embeddings → embedded index, with state, re-runs, edits, deletes
//! and failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::json;
use sluice_core::search::{Access, SearchFilters, SearchMode};
use sluice_core::{Sink, SinkAck, SinkBatch, SinkError};
use sluice_engine::SourceStatus;
use sluice_tests::{corpus, index, pipeline, run, search, write_jsonl};

const YAML: &str = r#"
name: e2e
sources:
  - id: kb
    type: files
    settings:
      path: kb.jsonl
      kind: page
      mapping:
        acl: acl
        acl_fallback: public
#EXTRA
chunking:
  max_tokens: 64
  overlap_tokens: 8
"#;

fn ids(hits: &[sluice_core::search::Hit]) -> Vec<String> {
    hits.iter().map(|h| h.external_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_rerun_edit_delete() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let p = pipeline(YAML, dir.path(), &data).await;

    // First sync: everything embedded and searchable.
    let r = run(&p, YAML, dir.path(), false).await;
    let s = &r.sources[0];
    assert_eq!(s.status, SourceStatus::Ok);
    assert_eq!(
        (s.mode.as_str(), s.docs_added, s.dead_letter_count),
        ("full", 5, 0)
    );
    assert!(
        s.chunks_embedded >= 6,
        "laptop splits at headings: {}",
        s.chunks_embedded
    );
    assert_eq!(s.chunks_embedded, s.chunks_written);

    let hits = search(
        &p,
        "pool size 400",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(ids(&hits)[0], "pgbouncer");
    // Semantic: no word in common with the refund doc's key terms.
    let hits = search(
        &p,
        "how often do we try again when giving customers their money back",
        SearchMode::Vector,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(ids(&hits)[0], "refunds", "{hits:#?}");
    let hits = search(
        &p,
        "what to do when consumers fall behind",
        SearchMode::Hybrid,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(ids(&hits)[0], "kafka-lag", "{hits:#?}");
    assert!(hits[0].url.is_none() && hits[0].kind == "page");

    // ACL: the HR doc needs group:hr.
    let hits = search(
        &p,
        "paid leave days",
        SearchMode::Hybrid,
        Access::public_only(),
        SearchFilters::default(),
    )
    .await;
    assert!(!ids(&hits).contains(&"vacation".to_string()));
    let hits = search(
        &p,
        "paid leave days",
        SearchMode::Hybrid,
        Access::Principals(vec!["group:hr".into()]),
        SearchFilters::default(),
    )
    .await;
    assert_eq!(ids(&hits)[0], "vacation");

    // Re-run over unchanged data: nothing embedded, nothing written.
    let (chunks_before, _) = p
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .counts()
        .unwrap();
    let r = run(&p, YAML, dir.path(), false).await;
    let s = &r.sources[0];
    assert_eq!(
        (
            s.mode.as_str(),
            s.docs_unchanged,
            s.chunks_embedded,
            s.chunks_written,
            s.docs_deleted
        ),
        ("incremental", 5, 0, 0, 0)
    );
    assert_eq!(
        p.store::<sluice_index::EmbeddedIndex>()
            .unwrap()
            .counts()
            .unwrap()
            .0,
        chunks_before
    );

    // Edit one document's text, another's labels only, delete a third.
    let mut rows = corpus();
    rows[1]["text"] = json!(
        "PgBouncer runs in transaction mode with a pool size of 250 connections per database."
    );
    rows[3]["labels"] = json!(["payments"]);
    rows.remove(4);
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);
    let r = run(&p, YAML, dir.path(), false).await;
    let s = &r.sources[0];
    assert_eq!(
        (s.docs_updated, s.docs_unchanged, s.docs_deleted),
        (2, 2, 1),
        "{s:#?}"
    );
    assert_eq!(s.chunks_embedded, 1, "only the edited chunk is re-embedded");
    assert!(
        s.chunks_written >= 2,
        "label change rewrites payload: {s:#?}"
    );

    let hits = search(
        &p,
        "pool size 250",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert_eq!(ids(&hits)[0], "pgbouncer");
    assert!(
        hits[0].snippet.contains("<mark>250</mark>"),
        "{}",
        hits[0].snippet
    );
    let hits = search(
        &p,
        "400",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert!(hits.is_empty(), "old text still indexed: {hits:#?}");
    let f = SearchFilters {
        labels: vec!["payments".into()],
        ..Default::default()
    };
    assert_eq!(
        ids(&search(&p, "refund", SearchMode::Hybrid, Access::All, f).await),
        vec!["refunds"]
    );
    let hits = search(
        &p,
        "laptop hardware accounts",
        SearchMode::Hybrid,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert!(
        !ids(&hits).contains(&"laptop".to_string()),
        "deleted doc still searchable"
    );
    let payloads = p
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .payloads()
        .unwrap();
    assert!(payloads.iter().all(|c| c.external_id != "laptop"));
    assert_eq!(p.state().doc_ids_for_source("e2e", "kb").unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_filters_and_unadmitted_docs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let with_sql = |sql: &str| format!("{YAML}transform:\n  sql: \"{sql}\"\n");
    let y1 = with_sql(
        "SELECT *, upper(title) AS shouting FROM records WHERE public OR NOT array_has(flatten(acl), 'group:hr')",
    );
    let p = pipeline(&y1, dir.path(), &data).await;
    let r = run(&p, &y1, dir.path(), false).await;
    assert_eq!(r.sources[0].docs_added, 4);
    let hits = search(
        &p,
        "paid leave",
        SearchMode::Keyword,
        Access::All,
        SearchFilters::default(),
    )
    .await;
    assert!(hits.is_empty());
    drop(p);

    // Narrow the SQL: documents it no longer admits leave the index.
    let y2 = with_sql("SELECT * FROM records WHERE title LIKE '%Kafka%'");
    let p = pipeline(&y2, dir.path(), &data).await;
    let r = run(&p, &y2, dir.path(), false).await;
    assert_eq!(r.sources[0].docs_deleted, 3, "{:#?}", r.sources[0]);
    let all: std::collections::BTreeSet<String> = p
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .payloads()
        .unwrap()
        .into_iter()
        .map(|c| c.external_id)
        .collect();
    assert_eq!(all.into_iter().collect::<Vec<_>>(), vec!["kafka-lag"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_dead_lettered_and_nothing_else_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let yaml = YAML.replace(
        "#EXTRA",
        "  - id: other\n    type: files\n    visibility: public\n    settings:\n      path: other",
    );
    std::fs::create_dir_all(dir.path().join("other")).unwrap();
    write_jsonl(
        &dir.path().join("other/a.jsonl"),
        &[json!({"id": "a1", "title": "Other A", "text": "alpha"})],
    );
    std::fs::write(
        dir.path().join("other/b.jsonl"),
        "{\"id\": \"b1\", \"text\": \"beta\"}\n",
    )
    .unwrap();
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let p = pipeline(&yaml, dir.path(), &data).await;
    run(&p, &yaml, dir.path(), false).await;
    assert_eq!(
        p.state().doc_ids_for_source("e2e", "other").unwrap().len(),
        2
    );

    // Corrupt one file entirely and one line of another.
    std::fs::write(dir.path().join("other/b.jsonl"), "\u{0}\u{1}garbage{{{\n").unwrap();
    let mut text = std::fs::read_to_string(dir.path().join("kb.jsonl")).unwrap();
    text.push_str("{\"id\": \"broken\", \"text\": \n");
    std::fs::write(dir.path().join("kb.jsonl"), text).unwrap();
    let r = run(&p, &yaml, dir.path(), false).await;
    let kb = &r.sources[0];
    assert_eq!((kb.docs_unchanged, kb.dead_letter_count), (5, 1));
    assert!(
        kb.dead_letters[0].location.ends_with("kb.jsonl:6"),
        "{:#?}",
        kb.dead_letters
    );
    assert!(
        !kb.pruned,
        "a record without an id failed, so nothing may be pruned"
    );
    let other = &r.sources[1];
    assert_eq!(other.dead_letter_count, 1);
    // b1 came from the corrupt file: it stays indexed rather than vanishing.
    assert_eq!(
        p.state().doc_ids_for_source("e2e", "other").unwrap().len(),
        2
    );
    assert_eq!(p.state().dead_letters("e2e", 10).unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_source_does_not_advance_and_others_continue() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    // Unreadable at run time (a path that does not exist is refused when
    // the pipeline is checked, before any run).
    std::fs::write(dir.path().join("broken-export.zip"), "not a zip").unwrap();
    let yaml = YAML.replace("#EXTRA", "  - id: missing\n    type: slack_export\n    visibility: public\n    settings:\n      path: broken-export.zip");
    let p = pipeline(&yaml, dir.path(), &data).await;
    let r = run(&p, &yaml, dir.path(), false).await;
    assert!(r.failed());
    assert_eq!(r.sources[0].status, SourceStatus::Ok);
    match &r.sources[1].status {
        SourceStatus::Failed(e) => assert!(e.contains("broken-export.zip"), "{e}"),
        s => panic!("{s:?}"),
    }
    assert!(!p.state().has_checkpoint("e2e", "missing").unwrap());
    assert!(p.state().has_checkpoint("e2e", "kb").unwrap());
}

/// A sink that fails (non-transiently) while `broken` is set.
struct FlakySink {
    broken: AtomicBool,
}

#[async_trait]
impl Sink for FlakySink {
    fn name(&self) -> &str {
        "flaky"
    }
    async fn apply(&self, _batch: &SinkBatch) -> Result<SinkAck, SinkError> {
        if self.broken.load(Ordering::SeqCst) {
            Err(SinkError {
                sink: "flaky".into(),
                message: "store unavailable".into(),
                transient: false,
            })
        } else {
            Ok(SinkAck::default())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_waits_for_every_sink() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let flaky = Arc::new(FlakySink {
        broken: AtomicBool::new(true),
    });
    let p = pipeline(YAML, dir.path(), &data)
        .await
        .with_sink(flaky.clone());
    let r = run(&p, YAML, dir.path(), false).await;
    assert!(
        matches!(&r.sources[0].status, SourceStatus::Failed(e) if e.contains("store unavailable"))
    );
    // The embedded sink acked, the flaky one did not: nothing is committed.
    assert!(!p.state().has_checkpoint("e2e", "kb").unwrap());
    assert!(
        p.state()
            .doc_ids_for_source("e2e", "kb")
            .unwrap()
            .is_empty()
    );

    // Replay once the store is back: same chunk ids, no duplicates.
    flaky.broken.store(false, Ordering::SeqCst);
    let r = run(&p, YAML, dir.path(), false).await;
    assert_eq!(r.sources[0].status, SourceStatus::Ok);
    assert_eq!(r.sources[0].docs_added, 5);
    let payloads = p
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .payloads()
        .unwrap();
    let unique: std::collections::HashSet<_> = payloads.iter().map(|c| c.chunk_id).collect();
    assert_eq!(unique.len(), payloads.len());
    assert_eq!(payloads.len() as u64, r.sources[0].chunks_written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_transport_batches_give_the_same_index() {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("kb.jsonl"), &corpus());
    let yaml = format!(
        "{YAML}transport:\n  type: in_process\n  batch_records: 2\ntransform:\n  sql: SELECT * FROM records\n"
    );
    let small = pipeline(&yaml, dir.path(), &dir.path().join("small")).await;
    let big = pipeline(YAML, dir.path(), &dir.path().join("big")).await;
    let rs = run(&small, &yaml, dir.path(), false).await;
    let rb = run(&big, YAML, dir.path(), false).await;
    assert_eq!(rs.sources[0].docs_added, 5);
    assert_eq!(rs.chunks_written(), rb.chunks_written());
    let key = |p: &sluice_engine::Pipeline| {
        let mut v: Vec<(String, u32, String)> = p
            .store::<sluice_index::EmbeddedIndex>()
            .unwrap()
            .payloads()
            .unwrap()
            .into_iter()
            .map(|c| (c.external_id, c.ordinal, c.text))
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&small), key(&big));
}

/// Access is never guessed: a record without it, a transform that widens
/// it to public, or one that needs more principal sets than stores hold is
/// dead-lettered with the reason, and an older indexed version of such a
/// record is removed rather than left readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_that_is_missing_widened_or_too_deep_is_never_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let yaml = r#"
name: gate
sources:
  - id: kb
    type: files
    settings:
      path: kb.jsonl
      mapping:
        acl: acl
transform:
  sql: >
    SELECT * EXCLUDE (public, acl),
      CASE WHEN external_id = 'widened' THEN true ELSE public END AS public,
      CASE WHEN external_id = 'deep'
           THEN make_array(make_array('a'), make_array('b'), make_array('c'), make_array('d'), make_array('e'))
           ELSE acl END AS acl
    FROM records
"#;
    let rows = |hr_has_acl: bool| {
        vec![
            json!({"id": "hr", "title": "Salary bands", "text": "Salary bands per level.", "acl": if hr_has_acl { json!(["group:hr"]) } else { json!([]) }}),
            json!({"id": "nobody-said", "title": "Board minutes", "text": "Minutes of the board meeting."}),
            json!({"id": "widened", "title": "Layoff plan", "text": "The layoff plan draft.", "acl": ["group:exec"]}),
            json!({"id": "deep", "title": "Merger memo", "text": "The merger memo.", "acl": ["group:exec"]}),
        ]
    };
    write_jsonl(&dir.path().join("kb.jsonl"), &rows(true));
    let p = pipeline(yaml, dir.path(), &data).await;
    let r = run(&p, yaml, dir.path(), false).await;
    let s = &r.sources[0];
    assert_eq!((s.docs_added, s.dead_letter_count), (1, 3), "{s:#?}");
    let dead = p.state().dead_letters("gate", 10).unwrap();
    let reason = |id: &str| {
        dead.iter()
            .find(|d| d.external_id.as_deref() == Some(id))
            .map(|d| d.error.clone())
            .unwrap_or_default()
    };
    assert!(
        reason("nobody-said").contains("access is unknown"),
        "{dead:#?}"
    );
    assert!(
        reason("widened").contains("made a restricted record public"),
        "{dead:#?}"
    );
    assert!(reason("deep").contains("at most 4"), "{dead:#?}");
    let indexed: Vec<String> = index(&p)
        .payloads()
        .unwrap()
        .into_iter()
        .map(|c| c.external_id)
        .collect();
    assert_eq!(indexed, vec!["hr"]);
    assert!(
        search(
            &p,
            "board minutes",
            SearchMode::Keyword,
            Access::public_only(),
            SearchFilters::default()
        )
        .await
        .is_empty()
    );

    // The HR page loses its ACL at the source: its indexed version (readable
    // by group:hr) is removed, not kept.
    write_jsonl(&dir.path().join("kb.jsonl"), &rows(false));
    let r = run(&p, yaml, dir.path(), false).await;
    assert_eq!(r.sources[0].docs_deleted, 1, "{:#?}", r.sources[0]);
    assert!(index(&p).payloads().unwrap().is_empty());
}

/// The mass-deletion guard: a full sync whose listing lost most of a
/// source, or came back empty, deletes nothing and says why, until the
/// operator allows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_that_would_empty_a_source_stops_until_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rows: Vec<serde_json::Value> = (0..12).map(|i| json!({"id": format!("d{i}"), "title": format!("Doc {i}"), "text": format!("body of document {i}")})).collect();
    write_jsonl(&dir.path().join("kb.jsonl"), &rows);
    let p = pipeline(YAML.replace("#EXTRA", "").as_str(), dir.path(), &data).await;
    let yaml = YAML.replace("#EXTRA", "");
    assert_eq!(
        run(&p, &yaml, dir.path(), false).await.sources[0].docs_added,
        12
    );

    // The export now holds 3 of the 12 records: 75 % would go.
    write_jsonl(&dir.path().join("kb.jsonl"), &rows[..3]);
    let r = run(&p, &yaml, dir.path(), true).await;
    let SourceStatus::Failed(why) = &r.sources[0].status else {
        panic!("{:?}", r.sources[0])
    };
    assert!(
        why.contains("source `kb`")
            && why.contains("delete 9 of its 12")
            && why.contains("--allow-mass-delete"),
        "{why}"
    );
    assert_eq!(index(&p).payloads().unwrap().len(), 12, "nothing deleted");
    // ... but what the listing lost is not served meanwhile.
    let hits = search(
        &p,
        "body of document 7",
        SearchMode::Keyword,
        Access::public_only(),
        SearchFilters::default(),
    )
    .await;
    assert!(
        hits.iter()
            .all(|h| ["d0", "d1", "d2"].contains(&h.external_id.as_str())),
        "{hits:#?}"
    );
    assert!(!hits.is_empty(), "the records still listed stay searchable");

    // An empty listing stops at any size.
    std::fs::write(dir.path().join("kb.jsonl"), "").unwrap();
    let r = run(&p, &yaml, dir.path(), true).await;
    let SourceStatus::Failed(why) = &r.sources[0].status else {
        panic!("{:?}", r.sources[0])
    };
    assert!(why.contains("came back empty"), "{why}");
    assert_eq!(index(&p).payloads().unwrap().len(), 12);

    // The operator says it is expected.
    write_jsonl(&dir.path().join("kb.jsonl"), &rows[..3]);
    let loaded = sluice_spec::load_pipeline_str(&yaml, "test.yaml", dir.path()).unwrap();
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded).unwrap();
    let r = p
        .run(
            sources,
            &sluice_engine::RunOptions {
                full: true,
                allow_mass_delete: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        (r.sources[0].status.clone(), r.sources[0].docs_deleted),
        (SourceStatus::Ok, 9),
        "{:?}",
        r.sources[0]
    );
}
