//! A hostile corpus, end to end through the `sluice` binary: one files
//! source holding markup nested 100,000 deep, a document of 100,000
//! headings, a 50 MB line, invalid UTF-8, a ragged CSV, corrupt Parquet,
//! broken JSON and a record with a bad date. The run finishes (exit code 4),
//! the good documents are searchable, every bad record is in the
//! dead-letter record with its reason, the process stays under a memory
//! bound, and the dead-letter commands list, retry and purge them.

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("sluice runs")
}

fn json(o: &Output) -> serde_json::Value {
    let out = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{e}: {out}\n{}", String::from_utf8_lossy(&o.stderr)))
}

/// Peak resident memory of the largest child this test has waited for.
fn children_peak_rss_mib() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

/// The stated bound: a run over this corpus (50 MB of input in one line)
/// stays under it. Measured at 530 MiB (debug build); the bound leaves room for
/// allocator and model differences, not for a document-sized blow-up (the
/// 100,000-heading document alone took ~1 GB before the chunk cap).
const RSS_BOUND_MIB: f64 = 900.0;

#[test]
fn a_hostile_corpus_is_indexed_around_its_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let c = p.join("corpus");
    std::fs::create_dir(&c).unwrap();
    std::fs::write(
        c.join("good.md"),
        "# Lighthouse rotation\n\nThe lighthouse keeper rotates the lamp every dusk.\n",
    )
    .unwrap();
    let n = 100_000;
    std::fs::write(c.join("deep.html"), format!("<html><head><title>Deep page</title></head><body>{}abyssal plankton census{}<p>surface note</p></body></html>", "<div>".repeat(n), "</div>".repeat(n))).unwrap();
    let headings: String = (0..n)
        .map(|i| format!("# Heading {i}\n\nline {i}\n\n"))
        .collect();
    std::fs::write(c.join("headings.md"), headings).unwrap();
    let huge = "granite ".repeat(50 * 1024 * 1024 / 8);
    std::fs::write(
        c.join("records.jsonl"),
        format!(
            "{{\"id\": \"r1\", \"title\": \"Quarry log\", \"text\": \"The quarry ships basalt on Tuesdays.\"}}\n\
             {{\"id\": \"r2\", \"title\": \"Ferry timetable\", \"text\": \"The ferry leaves at noon.\", \"updated_at\": \"not a date\"}}\n\
             {{\"id\": \"r3\", \"title\": \n\
             {{\"id\": \"r4\", \"title\": \"Huge\", \"text\": \"{huge}\"}}\n"
        ),
    )
    .unwrap();
    std::fs::write(c.join("latin1.txt"), b"caf\xe9 cr\xe8me\n").unwrap();
    std::fs::write(c.join("ragged.csv"), "id,title,text\nc1,Orchard,Apples ripen in September.\nc2,Broken\nc3,Vineyard,Grapes ripen in October,extra\n").unwrap();
    std::fs::write(
        c.join("corrupt.parquet"),
        b"PAR1\x00\x01garbage that is not parquet PAR1",
    )
    .unwrap();
    std::fs::write(
        p.join("p.yaml"),
        "name: hostile\nsources:\n  - id: kb\n    type: files\n    visibility: public\n    settings:\n      path: corpus\n      mapping:\n        updated_at: updated_at\nchunking:\n  max_chunks_per_document: 40\n",
    )
    .unwrap();

    let o = sluice(&["run", "p.yaml", "--data-dir", "data"], p);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(
        o.status.code(),
        Some(4),
        "dead letters, not a crash: {out}\n{err}"
    );
    let peak = children_peak_rss_mib();
    println!("hostile corpus: peak RSS {peak:.0} MiB (bound {RSS_BOUND_MIB} MiB)");
    assert!(peak < RSS_BOUND_MIB, "peak RSS {peak:.0} MiB");

    // The good records, and the text of the flattened page, are found.
    for (query, ext) in [
        ("lighthouse keeper lamp", "good.md"),
        ("abyssal plankton census", "deep.html"),
        ("quarry basalt", "r1"),
        ("apples orchard", "c1"),
    ] {
        let v = json(&sluice(
            &[
                "search",
                query,
                "--data-dir",
                "data",
                "--json",
                "--mode",
                "keyword",
            ],
            p,
        ));
        assert_eq!(v["hits"][0]["external_id"], ext, "{query}: {v}");
    }

    // Every bad record is in the dead-letter record with its reason.
    let v = json(&sluice(
        &[
            "dead-letters",
            "list",
            "p.yaml",
            "--data-dir",
            "data",
            "--json",
            "--kind",
            "failed",
        ],
        p,
    ));
    let entries = v.as_array().unwrap();
    let reason = |needle: &str| {
        entries.iter().any(|e| {
            e["error"].as_str().unwrap_or("").contains(needle)
                || e["location"].as_str().unwrap_or("").contains(needle)
        })
    };
    for needle in [
        "records.jsonl:3",
        "invalid JSON",
        "not UTF-8",
        "invalid CSV row",
        "Parquet",
    ] {
        assert!(reason(needle), "{needle} missing from {v:#}");
    }
    let r2: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["external_id"] == "r2")
        .collect();
    assert_eq!(r2.len(), 1, "{v:#}");
    assert!(
        entries
            .iter()
            .all(|e| !e.to_string().contains("The ferry leaves")),
        "no record content is kept"
    );
    let v = json(&sluice(
        &[
            "dead-letters",
            "list",
            "p.yaml",
            "--data-dir",
            "data",
            "--json",
            "--kind",
            "partial",
        ],
        p,
    ));
    let partial = v.as_array().unwrap();
    let note = |ext: &str, needle: &str| {
        partial
            .iter()
            .any(|e| e["external_id"] == ext && e["error"].as_str().unwrap_or("").contains(needle))
    };
    assert!(note("deep.html", "nested deeper than 256"), "{v:#}");
    assert!(note("headings.md", "more than 40 chunks"), "{v:#}");
    assert!(
        note("r4", "truncated") && note("r4", "more than 40 chunks"),
        "both limits, one note: {v:#}"
    );
    let status = json(&sluice(
        &["status", "p.yaml", "--data-dir", "data", "--json"],
        p,
    ));
    assert_eq!(status["dead_letters"]["partial"], 3, "{status:#}");
    let chunks = status["sources"][0]["chunks"].as_u64().unwrap();
    assert!(chunks < 200, "the cap bounds the chunks: {chunks}");

    // The same run again changes nothing and adds no entries.
    let before = json(&sluice(
        &[
            "dead-letters",
            "list",
            "p.yaml",
            "--data-dir",
            "data",
            "--json",
            "--limit",
            "1000",
        ],
        p,
    ))
    .as_array()
    .unwrap()
    .len();
    let o = sluice(&["run", "p.yaml", "--data-dir", "data"], p);
    assert_eq!(o.status.code(), Some(4));
    let after = json(&sluice(
        &[
            "dead-letters",
            "list",
            "p.yaml",
            "--data-dir",
            "data",
            "--json",
            "--limit",
            "1000",
        ],
        p,
    ));
    assert_eq!(
        after.as_array().unwrap().len(),
        before,
        "one entry per record (by id, else by place): {after:#}"
    );
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "failed")
            .all(|e| e["attempts"] == 2),
        "{after:#}"
    );

    // The date is fixed at the source; a retry re-reads r2 by its id.
    let text = std::fs::read_to_string(c.join("records.jsonl"))
        .unwrap()
        .replace("not a date", "2026-01-05T10:00:00Z");
    std::fs::write(c.join("records.jsonl"), text).unwrap();
    let o = sluice(
        &["dead-letters", "retry", "p.yaml", "--data-dir", "data"],
        p,
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&sluice(
        &[
            "search",
            "ferry timetable noon",
            "--data-dir",
            "data",
            "--json",
            "--mode",
            "keyword",
        ],
        p,
    ));
    assert_eq!(v["hits"][0]["external_id"], "r2", "{v}");
    let v = json(&sluice(
        &[
            "dead-letters",
            "list",
            "p.yaml",
            "--data-dir",
            "data",
            "--json",
            "--limit",
            "1000",
        ],
        p,
    ));
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|e| e["external_id"] != "r2"),
        "settled: {v:#}"
    );

    // Purge clears what is left.
    let o = sluice(
        &[
            "dead-letters",
            "purge",
            "p.yaml",
            "--data-dir",
            "data",
            "--kind",
            "partial",
        ],
        p,
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("removed 3"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = sluice(
        &["dead-letters", "purge", "p.yaml", "--data-dir", "data"],
        p,
    );
    assert_eq!(o.status.code(), Some(0));
    let v = json(&sluice(
        &[
            "dead-letters",
            "list",
            "p.yaml",
            "--data-dir",
            "data",
            "--json",
        ],
        p,
    ));
    assert!(v.as_array().unwrap().is_empty(), "{v:#}");
}
