//! A files source skips unchanged files through the real engine: the
//! records of a file whose size and time match the last complete run are
//! listed live by id, so nothing is read, parsed, embedded or pruned; an
//! edited file is re-read and a removed one pruned.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sluice_engine::{Pipeline, RunReport};
use sluice_tests::{ByteEmbedder, pipeline_with, run_ok};

const YAML: &str = "name: tree\nsources:\n  - id: docs\n    type: files\n    visibility: public\n    settings:\n      path: tree\n      glob: \"**/*.md\"\nsinks:\n  - type: embedded\n";

fn write_tree(root: &Path, files: usize) {
    for i in 0..files {
        let dir = root.join("tree").join(format!("d{:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("f{i}.md")),
            format!("# Page {i}\n\nBody of page {i}."),
        )
        .unwrap();
    }
}

async fn open(dir: &Path) -> Pipeline {
    pipeline_with(YAML, dir, &dir.join("data"), Arc::new(ByteEmbedder)).await
}

async fn run(p: &Pipeline, dir: &Path, full: bool) -> RunReport {
    run_ok(p, YAML, dir, full).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_tree_is_not_read_again_and_changes_still_land() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 300);
    let p = open(dir.path()).await;
    let s = &run(&p, dir.path(), false).await.sources[0];
    assert_eq!((s.docs_added, s.chunks_embedded), (300, 300));

    let s = &run(&p, dir.path(), false).await.sources[0];
    assert_eq!(
        (
            s.mode.as_str(),
            s.docs_seen,
            s.docs_unchanged,
            s.chunks_embedded,
            s.docs_deleted
        ),
        ("incremental", 300, 300, 0, 0),
        "{s:#?}"
    );

    // An edit and a removal.
    std::fs::write(
        dir.path().join("tree/d007/f7.md"),
        "# Page 7\n\nRewritten body, longer than before.",
    )
    .unwrap();
    std::fs::remove_file(dir.path().join("tree/d008/f8.md")).unwrap();
    let s = &run(&p, dir.path(), false).await.sources[0];
    assert_eq!(
        (
            s.docs_updated,
            s.docs_unchanged,
            s.docs_deleted,
            s.chunks_embedded
        ),
        (1, 298, 1, 1),
        "{s:#?}"
    );
    let payloads = p
        .store::<sluice_index::EmbeddedIndex>()
        .unwrap()
        .payloads()
        .unwrap();
    assert_eq!(payloads.len(), 299);
    assert!(payloads.iter().any(|c| c.text.contains("Rewritten body")));

    // A full run reads every file and finds them all unchanged.
    let s = &run(&p, dir.path(), true).await.sources[0];
    assert_eq!(
        (
            s.mode.as_str(),
            s.docs_unchanged,
            s.docs_deleted,
            s.chunks_embedded
        ),
        ("full", 299, 0, 0),
        "{s:#?}"
    );
}

/// The figure in the README: `cargo test -p sluice-tests --release --test
/// files_resync -- --ignored --nocapture` (SLUICE_TREE_FILES, default 100,000).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: writes and indexes a 100,000-file tree"]
async fn resync_of_a_big_unchanged_tree() {
    let files: usize = std::env::var("SLUICE_TREE_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), files);
    let p = open(dir.path()).await;
    let t = Instant::now();
    let s = run(&p, dir.path(), false).await.sources[0].clone();
    let first = t.elapsed();
    assert_eq!(s.docs_added as usize, files);
    let t = Instant::now();
    let s = run(&p, dir.path(), false).await.sources[0].clone();
    let again = t.elapsed();
    assert_eq!((s.docs_unchanged as usize, s.chunks_embedded), (files, 0));
    let t = Instant::now();
    let s = run(&p, dir.path(), true).await.sources[0].clone();
    let full = t.elapsed();
    assert_eq!(s.docs_unchanged as usize, files);
    println!(
        "{files} files: first sync {:.1} s; unchanged re-sync {:.2} s; --full re-sync (every file read and parsed) {:.1} s: the skip is {:.1}x faster",
        first.as_secs_f64(),
        again.as_secs_f64(),
        full.as_secs_f64(),
        full.as_secs_f64() / again.as_secs_f64()
    );
}
