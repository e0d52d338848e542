use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::*;

fn settings(v: serde_json::Value) -> FilesSettings {
    let map: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
    FilesSettings::parse(&map).unwrap()
}

async fn drain(src: &mut FilesSource) -> (Vec<Document>, Vec<DeadLetter>, usize) {
    assert_eq!(
        src.open(SyncMode::Full, None).await.unwrap(),
        ListingScope::Complete
    );
    let (mut docs, mut dead, mut pages) = (Vec::new(), Vec::new(), 0);
    while let Some(p) = src.next_page().await.unwrap() {
        pages += 1;
        docs.extend(p.documents);
        dead.extend(p.dead_letters);
    }
    (docs, dead, pages)
}

#[tokio::test]
async fn beir_corpus_needs_no_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let lines = (0..5)
        .map(|i| {
            json!({"_id": format!("d{i}"), "title": format!("T{i}"), "text": format!("body {i}")})
                .to_string()
        })
        .collect::<Vec<_>>();
    std::fs::write(dir.path().join("corpus.jsonl"), lines.join("\n")).unwrap();
    let s = settings(json!({"path": "corpus.jsonl", "page_size": 2}));
    let mut src = FilesSource::new("beir", s, dir.path()).unwrap();
    let (docs, dead, pages) = drain(&mut src).await;
    assert!(dead.is_empty());
    assert_eq!(pages, 3);
    assert_eq!(docs.len(), 5);
    assert_eq!(docs[3].external_id, "d3");
    assert_eq!(docs[3].title, "T3");
    assert_eq!(docs[3].body, "body 3");
    assert_eq!(docs[3].source, "beir");
}

#[tokio::test]
async fn jira_shaped_mapping_with_comments_labels_acl() {
    let dir = tempfile::tempdir().unwrap();
    let issue = json!({"key": "OPS-7", "fields": {"summary": "Lag alert", "description": "Consumer lag is high.",
        "labels": ["kafka"], "components": [{"name": "ingest"}], "updated": "2025-08-03T16:40:02.000+0000",
        "issuetype": {"name": "Bug"}, "status": {"name": "Open"},
        "comment": {"comments": [{"body": "Scaled to 6 consumers."}, {"body": "Fixed."}]}, "security": {"name": "sec"}}});
    std::fs::write(
        dir.path().join("issues.jsonl"),
        issue.to_string() + "\n{not json\n[1,2]\n{\"fields\":{}}\n",
    )
    .unwrap();
    let s = settings(json!({
        "path": ".", "kind": "issue",
        "mapping": {
            "id": "key", "title": "fields.summary",
            "text": ["fields.description", "fields.comment.comments[*].body"],
            "url": "https://jira.example/browse/{key}", "updated_at": "fields.updated",
            "labels": ["fields.labels", "component:{fields.components[*].name}"],
            "acl": "group:{fields.security.name}",
            "metadata": {"status": "fields.status.name", "type": "fields.issuetype.name"}
        }
    }));
    let mut src = FilesSource::new("jira", s, dir.path()).unwrap();
    let (docs, dead, _) = drain(&mut src).await;
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.kind, DocKind::Issue);
    assert_eq!(
        d.body,
        "Consumer lag is high.\n\nScaled to 6 consumers.\n\nFixed."
    );
    assert_eq!(d.url.as_deref(), Some("https://jira.example/browse/OPS-7"));
    assert_eq!(d.labels, vec!["kafka", "component:ingest"]);
    assert_eq!(
        d.access,
        Some(sluice_core::DocAccess::any_of(["group:sec"])),
        "principals exactly as written"
    );
    assert_eq!(d.metadata["status"], json!("Open"));
    assert_eq!(
        d.updated_at.unwrap().to_rfc3339(),
        "2025-08-03T16:40:02+00:00"
    );
    // Three bad lines, three dead letters naming file:line and the cause.
    assert_eq!(dead.len(), 3, "{dead:#?}");
    assert!(
        dead[0].location.ends_with("issues.jsonl:2") && dead[0].error.contains("invalid JSON"),
        "{dead:#?}"
    );
    assert!(dead[1].error.contains("not an object"));
    assert!(dead[2].error.contains("external id"));
}

#[tokio::test]
async fn markdown_html_csv_parquet_directory() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("docs/sub")).unwrap();
    std::fs::write(
        p.join("docs/guide.md"),
        "# Onboarding guide\n\n## Laptop\n\nGet a laptop.",
    )
    .unwrap();
    std::fs::write(p.join("docs/sub/page.html"), "<html><head><title>Runbook</title></head><body><h2>Step</h2><p>Restart it.</p></body></html>").unwrap();
    std::fs::write(p.join("docs/.hidden.md"), "# secret").unwrap();
    std::fs::write(p.join("docs/notes.bin"), [0u8, 1, 2]).unwrap();
    std::fs::write(
        p.join("rows.csv"),
        "id,title,text\n1,First,Hello\n2,Second,\"Quoted, text\"\n",
    )
    .unwrap();
    // Parquet written with arrow.
    {
        use arrow::array::{RecordBatch, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(StringArray::from(vec!["p1", "p2"])),
                std::sync::Arc::new(StringArray::from(vec!["parquet one", "parquet two"])),
            ],
        )
        .unwrap();
        let f = std::fs::File::create(p.join("rows.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let mut src = FilesSource::new("all", settings(json!({"path": "."})), p).unwrap();
    let (docs, dead, _) = drain(&mut src).await;
    assert!(dead.is_empty(), "{dead:#?}");
    let ids: Vec<&str> = docs.iter().map(|d| d.external_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["docs/guide.md", "docs/sub/page.html", "1", "2", "p1", "p2"]
    );
    assert_eq!(docs[0].title, "Onboarding guide");
    assert!(docs[0].body.contains("## Laptop"));
    assert_eq!(docs[1].title, "Runbook");
    assert_eq!(docs[1].body, "## Step\n\nRestart it.");
    assert_eq!(docs[3].body, "Quoted, text");
    assert_eq!(docs[5].body, "parquet two");
    assert!(docs[0].updated_at.is_some());

    // Glob narrows the listing.
    let mut src =
        FilesSource::new("md", settings(json!({"path": ".", "glob": "**/*.md"})), p).unwrap();
    let (docs, _, _) = drain(&mut src).await;
    assert_eq!(docs.len(), 1);

    // An object_store file:// URL reads the same files.
    let url = url::Url::from_directory_path(p.join("docs"))
        .unwrap()
        .to_string();
    let mut src = FilesSource::new(
        "u",
        settings(json!({"url": url, "glob": "*.md"})),
        Path::new("/"),
    )
    .unwrap();
    let (docs, _, _) = drain(&mut src).await;
    assert_eq!(docs.len(), 1);
}

#[tokio::test]
async fn corrupt_file_is_one_dead_letter_and_others_still_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.parquet"), b"PAR1 this is not parquet").unwrap();
    std::fs::write(
        dir.path().join("b.jsonl"),
        "{\"id\":\"ok\",\"text\":\"fine\"}\n",
    )
    .unwrap();
    let mut src = FilesSource::new("x", settings(json!({"path": "."})), dir.path()).unwrap();
    let (docs, dead, _) = drain(&mut src).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(dead.len(), 1);
    assert!(dead[0].location.ends_with("a.parquet"));
    assert!(dead[0].error.contains("Parquet"), "{}", dead[0].error);
}

#[tokio::test]
async fn parent_directory_segments_resolve() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(
        dir.path().join("a/x.jsonl"),
        "{\"id\":\"1\",\"text\":\"t\"}\n",
    )
    .unwrap();
    let mut src = FilesSource::new(
        "x",
        settings(json!({"path": "../x.jsonl"})),
        &dir.path().join("a/b"),
    )
    .unwrap();
    let (docs, _, _) = drain(&mut src).await;
    assert_eq!(docs.len(), 1);
}

#[tokio::test]
async fn missing_path_is_a_page_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut src = FilesSource::new("x", settings(json!({"path": "nope"})), dir.path()).unwrap();
    let err = src.open(SyncMode::Full, None).await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn settings_errors_are_all_reported() {
    let map: BTreeMap<String, Value> =
        serde_json::from_value(json!({"kind": "spaceship", "glob": "[", "page_size": 0,
        "mapping": {"id": "a[x]"}}))
        .unwrap();
    let errs = FilesSettings::parse(&map).unwrap_err();
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["", "glob", "kind", "page_size", "mapping.id"],
        "{errs:#?}"
    );
    let map: BTreeMap<String, Value> =
        serde_json::from_value(json!({"path": "x", "mapings": {}})).unwrap();
    let errs = FilesSettings::parse(&map).unwrap_err();
    assert!(
        errs[0].message.contains("unknown field `mapings`"),
        "{errs:#?}"
    );
}

/// One run of `mode`: documents, live ids, the last cursor, (skipped, read) files.
async fn sync(
    src: &mut FilesSource,
    mode: SyncMode,
    cursor: Option<&str>,
) -> (Vec<String>, Vec<String>, Option<String>, (usize, usize)) {
    src.open(mode, cursor).await.unwrap();
    let (mut docs, mut live, mut last) = (Vec::new(), Vec::new(), None);
    while let Some(p) = src.next_page().await.unwrap() {
        docs.extend(p.documents.into_iter().map(|d| d.external_id));
        live.extend(p.live_ids);
        if p.cursor.is_some() {
            last = p.cursor;
        }
    }
    docs.sort();
    live.sort();
    (docs, live, last, src.files_skipped_and_read())
}

#[tokio::test]
async fn unchanged_files_are_listed_by_id_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("a.md", "# A\n\nalpha");
    write("b.md", "# B\n\nbeta");
    write(
        "c.jsonl",
        "{\"id\": \"c1\", \"text\": \"one\"}\n{\"id\": \"c2\", \"text\": \"two\"}\n",
    );
    let s = settings(json!({"path": ".", "page_size": 1}));
    let mut src = FilesSource::new("kb", s.clone(), dir.path()).unwrap();

    let (docs, live, cursor, files) = sync(&mut src, SyncMode::Full, None).await;
    assert_eq!(docs, ["a.md", "b.md", "c1", "c2"]);
    assert!(live.is_empty());
    assert_eq!(files, (0, 3));
    let cursor = cursor.expect("the last page carries the manifest");

    // Nothing changed: nothing read, every record listed live.
    let (docs, live, next, files) = sync(&mut src, SyncMode::Incremental, Some(&cursor)).await;
    assert!(docs.is_empty(), "{docs:?}");
    assert_eq!(live, ["a.md", "b.md", "c1", "c2"]);
    assert_eq!(files, (3, 0));
    assert_eq!(
        next.as_deref(),
        Some(cursor.as_str()),
        "the same manifest again"
    );

    // One file edited (another size), one rewritten with the same bytes (a new time).
    std::thread::sleep(std::time::Duration::from_millis(20));
    write("b.md", "# B\n\nbeta, edited");
    write("a.md", "# A\n\nalpha");
    let (docs, live, next, files) = sync(&mut src, SyncMode::Incremental, Some(&cursor)).await;
    assert_eq!(docs, ["b.md"], "only the edited file is parsed");
    assert_eq!(live, ["a.md", "c1", "c2"]);
    assert_eq!(
        files,
        (2, 1),
        "the touched file was read and hashed, not parsed"
    );
    let cursor = next.unwrap();

    // A file removed: its records are simply not listed (the engine prunes them).
    std::fs::remove_file(dir.path().join("c.jsonl")).unwrap();
    let (docs, live, _, files) = sync(&mut src, SyncMode::Incremental, Some(&cursor)).await;
    assert!(docs.is_empty());
    assert_eq!(live, ["a.md", "b.md"]);
    assert_eq!(files, (2, 0));

    // A full run, or other settings (another mapping makes other documents), reads everything.
    let (docs, _, _, files) = sync(&mut src, SyncMode::Full, Some(&cursor)).await;
    assert_eq!((docs.len(), files), (2, (0, 2)));
    let other = settings(json!({"path": ".", "page_size": 1, "kind": "page"}));
    let mut src2 = FilesSource::new("kb", other, dir.path()).unwrap();
    let (docs, live, _, _) = sync(&mut src2, SyncMode::Incremental, Some(&cursor)).await;
    assert_eq!((docs.len(), live.len()), (2, 0));
    // A garbled cursor is no manifest.
    let (docs, _, _, _) = sync(&mut src, SyncMode::Incremental, Some("{garbled")).await;
    assert_eq!(docs.len(), 2);
}
