//! The `sluice` binary as scripts use it: messages and exit codes.

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

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The repository root, read at run time: a compile-time path would go
/// stale when a build cache is shared between checkouts.
fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"),
    )
    .join("../..")
}

#[test]
fn validate_accepts_the_bundled_pipelines() {
    let o = sluice(&["validate", "pipelines/demo.yaml"], &repo());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("ok (6 sources, 1 sink)"), "{out}");
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("pipelines")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let o = sluice(&["validate", path.to_str().unwrap()], &repo());
            let (out, err) = text(&o);
            assert_eq!(o.status.code(), Some(0), "{}: {out}{err}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked} pipelines");
}

#[test]
fn validate_check_env_names_missing_store_settings() {
    let o = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "validate",
            "--check-env",
            "pipelines/qdrant-elasticsearch.yaml",
        ])
        .current_dir(repo())
        .env_remove("QDRANT_URL")
        .env_remove("ELASTICSEARCH_API_KEY")
        .env("QDRANT_API_KEY", "k")
        .env("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("sinks[0].url") && all.contains("QDRANT_URL"),
        "{all}"
    );
    assert!(
        all.contains("sinks[1].auth.key") && all.contains("ELASTICSEARCH_API_KEY"),
        "{all}"
    );
    assert!(
        !all.contains("sinks[0].api_key"),
        "set variables are not reported: {all}"
    );
}

#[test]
fn validate_reports_every_error_with_position_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: demo\nschedule:\n  cron: \"every monday\"\nsources:\n  - id: docs\n    type: files\n    settings:\n      pth: x.jsonl\n    credentials:\n      token: hunter2-literal\n  - id: wiki\n    type: confluenze\ntransform:\n  sql: SELECT nope FROM records\nchunking:\n  max_tokns: 10\n";
    std::fs::write(dir.path().join("bad.yaml"), yaml).unwrap();
    let o = sluice(&["validate", "bad.yaml"], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    // Structural errors first (each section checked on its own).
    assert!(
        err.contains("bad.yaml:10:7: sources[0].credentials.token"),
        "{err}"
    );
    assert!(err.contains("literal secrets are not accepted"), "{err}");
    assert!(!err.contains("hunter2"), "secret echoed: {err}");
    assert!(
        err.contains("bad.yaml:16:3: chunking.max_tokns: unknown field `max_tokns`"),
        "{err}"
    );
    assert!(err.contains("hint: did you mean `max_tokens`?"), "{err}");

    // Fix the structural ones: the semantic ones appear, all at once.
    let yaml = yaml
        .replace("    credentials:\n      token: hunter2-literal\n", "")
        .replace("max_tokns", "max_tokens: 100\n  overlap_tokens")
        .replace("10\n", "10\n");
    std::fs::write(dir.path().join("bad.yaml"), &yaml).unwrap();
    let o = sluice(&["validate", "bad.yaml"], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains("bad.yaml:3:3: schedule.cron: invalid cron expression `every monday`"),
        "{err}"
    );
    assert!(
        err.contains("sources[0].settings.pth: unknown field `pth`"),
        "{err}"
    );
    assert!(
        err.contains("sources[1].type: unknown source type `confluenze`"),
        "{err}"
    );
    assert!(err.contains("transform.sql: invalid SQL"), "{err}");
    assert!(err.contains("4 problems found"), "{err}");
}

#[test]
fn validate_rejects_broken_yaml_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "name: x\nsources:\n  - id: [unclosed\n",
    )
    .unwrap();
    let o = sluice(&["validate", "broken.yaml"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("broken.yaml:") && err.contains("invalid YAML"),
        "{err}"
    );
    let o = sluice(&["validate", "nope.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read pipeline file"));
}

/// `validate` on a file from someone else: nothing in it runs, nothing
/// hangs, nothing is echoed, and every refusal names its place.
#[test]
fn validate_is_safe_on_hostile_pipeline_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("kb.jsonl"), "{}\n").unwrap();
    std::fs::write(p.join("passwd.csv"), "root,x,0,0\n").unwrap();
    // A FIFO as a table location: reading it would block forever.
    let fifo = p.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let files = "sources:\n  - id: kb\n    type: files\n    visibility: public\n    settings:\n      path: kb.jsonl\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "ddl",
            format!(
                "name: x\n{files}transform:\n  sql: CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}'\n",
                p.join("passwd.csv").display()
            ),
            "x.yaml:9:3: transform.sql: invalid SQL",
        ),
        (
            "fifo",
            format!(
                "name: x\n{files}transform:\n  sql: CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}'\n",
                fifo.display()
            ),
            "transform.sql: invalid SQL",
        ),
        (
            "missing path",
            format!("name: x\n{}", files.replace("kb.jsonl", "nowhere.jsonl")),
            "x.yaml:7:7: sources[0].settings.path: `nowhere.jsonl` does not exist",
        ),
        (
            "kafka secret",
            format!(
                "name: x\n{files}transport:\n  type: kafka\n  bootstrap_servers: ${{KAFKA}}\n  properties:\n    sasl.password: hunter2\n"
            ),
            "x.yaml:12:5: transport.properties.sasl.password",
        ),
        (
            "deep",
            format!(
                "name: x\nsources: {}1{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            "x.yaml:2:",
        ),
        ("empty", "\n\n".to_string(), "x.yaml:1:1: the file is empty"),
        (
            "aliases",
            format!(
                "name: x\n{files}a: &a [x, x]\n{}",
                (1..200).map(|i| format!("b{i}: *a\n")).collect::<String>()
            ),
            "more than 100 aliases",
        ),
    ];
    for (name, yaml, expected) in cases {
        std::fs::write(p.join("x.yaml"), &yaml).unwrap();
        let started = std::time::Instant::now();
        let o = sluice(&["validate", "x.yaml"], p);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {out}{err}");
        assert!(
            err.contains(expected),
            "{name}: expected `{expected}` in:\n{err}"
        );
        assert!(
            !err.contains("hunter2") && !err.contains("root,x"),
            "{name}: echoed: {err}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{name}: took {:?}",
            started.elapsed()
        );
    }
    // Not UTF-8: the place of the first bad byte.
    std::fs::write(p.join("x.yaml"), b"name: x\nsources:\n  - id: caf\xe9\n").unwrap();
    let (_, err) = text(&sluice(&["validate", "x.yaml"], p));
    assert!(
        err.contains("x.yaml:3:12: the file is not UTF-8 text"),
        "{err}"
    );
}

#[test]
fn run_search_status_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("kb.jsonl"),
        "{\"id\":\"1\",\"title\":\"Kafka lag runbook\",\"text\":\"Scale consumers when lag passes 50k.\"}\n\
         {\"id\":\"2\",\"title\":\"Payroll\",\"text\":\"Payroll runs on the 25th.\"}\n\
         {\"id\":\"3\",\"title\":\"broken\",\"text\": \n",
    )
    .unwrap();
    std::fs::write(p.join("p.yaml"), "name: cli\nsources:\n  - id: kb\n    type: files\n    visibility: public\n    settings:\n      path: kb.jsonl\n").unwrap();

    // Before any run, search explains what to do.
    let o = sluice(&["search", "lag", "--data-dir", "data"], p);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("run a pipeline first"));

    // A corrupt line: the rest is indexed, exit code 4 names the place.
    let o = sluice(&["run", "p.yaml", "--data-dir", "data"], p);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{out}{err}");
    assert!(out.contains("kb.jsonl:3: invalid JSON"), "{out}");

    let o = sluice(
        &["search", "lag threshold", "--data-dir", "data", "--json"],
        p,
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hits"][0]["external_id"], "1");

    let o = sluice(
        &[
            "search",
            "lag",
            "--data-dir",
            "data",
            "--mode",
            "keyword",
            "--filter",
            "kind=spaceship",
        ],
        p,
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("no results"));
    let o = sluice(
        &[
            "search",
            "lag",
            "--data-dir",
            "data",
            "--filter",
            "colour=red",
        ],
        p,
    );
    assert_eq!(o.status.code(), Some(2));

    let o = sluice(&["status", "p.yaml", "--data-dir", "data", "--json"], p);
    let (out, _) = text(&o);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sources"][0]["documents"], 2);
    assert_eq!(v["last_runs"][0]["dead_letters"], 1);

    // A source that cannot be read (an export that is not a zip): exit 3,
    // nothing else lost. A path that does not exist is refused earlier, by
    // validation (exit 2).
    std::fs::write(p.join("broken-export.zip"), "not a zip").unwrap();
    std::fs::write(p.join("p.yaml"), "name: cli\nsources:\n  - id: kb\n    type: files\n    visibility: public\n    settings:\n      path: kb.jsonl\n  - id: gone\n    type: slack_export\n    visibility: public\n    settings:\n      path: broken-export.zip\n").unwrap();
    let o = sluice(&["run", "p.yaml", "--data-dir", "data"], p);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{out}{err}");
    assert!(
        out.contains("FAILED") && out.contains("broken-export.zip"),
        "{out}"
    );
    let o = sluice(&["status", "p.yaml", "--data-dir", "data", "--json"], p);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["sources"][0]["documents"], 2);
}

#[test]
fn eval_scores_a_small_beir_set() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let corpus = [
        (
            "d1",
            "Vitamin D and bone density",
            "Vitamin D supplementation increases bone mineral density in older adults.",
        ),
        (
            "d2",
            "Statins and cholesterol",
            "Statins lower LDL cholesterol and reduce cardiovascular events.",
        ),
        (
            "d3",
            "Sleep and memory",
            "Slow-wave sleep consolidates declarative memory.",
        ),
        (
            "d4",
            "Exercise and mood",
            "Aerobic exercise reduces symptoms of depression.",
        ),
    ];
    let lines: Vec<String> = corpus
        .iter()
        .map(|(i, t, x)| serde_json::json!({"_id": i, "title": t, "text": x}).to_string())
        .collect();
    std::fs::write(p.join("corpus.jsonl"), lines.join("\n")).unwrap();
    std::fs::write(p.join("queries.jsonl"), "{\"_id\":\"q1\",\"text\":\"does vitamin D strengthen bones\"}\n{\"_id\":\"q2\",\"text\":\"statins LDL\"}\n{\"_id\":\"q3\",\"text\":\"unjudged\"}\n").unwrap();
    std::fs::write(
        p.join("qrels.tsv"),
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n",
    )
    .unwrap();
    let o = sluice(
        &[
            "eval",
            "--corpus",
            "corpus.jsonl",
            "--queries",
            "queries.jsonl",
            "--qrels",
            "qrels.tsv",
            "--data-dir",
            "ev",
            "--json",
        ],
        p,
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["queries"], 2);
    let modes: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, vec!["keyword", "vector", "hybrid"]);
    for r in v["results"].as_array().unwrap() {
        // Each query's one relevant document is unmistakable here.
        assert_eq!(r["ndcg@10"].as_f64().unwrap(), 1.0, "{r}");
        assert_eq!(r["recall@100"].as_f64().unwrap(), 1.0, "{r}");
    }
}

#[test]
fn serving_the_network_without_auth_needs_an_explicit_flag() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [&["--no-auth"][..], &["--no-auth", "--all-access"][..]] {
        let mut args = vec!["serve", "--data-dir", "data", "--addr", "0.0.0.0:0"];
        args.extend_from_slice(extra);
        let o = sluice(&args, dir.path());
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{out}{err}");
        assert!(
            err.contains("--dangerously-serve-network-without-auth") && err.contains("127.0.0.1"),
            "{err}"
        );
        if extra.len() == 2 {
            assert!(err.contains("restricted"), "says what would leak: {err}");
        }
    }
}
