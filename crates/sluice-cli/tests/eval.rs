//! `sluice eval`'s metrics against the reference implementation: a fixed
//! run file (graded judgments, a relevant document past rank 10, a query
//! that finds nothing relevant, a run listed out of score order) scored
//! by `sluice eval --score-run` and by ir-measures (pytrec_eval, i.e.
//! trec_eval), installed by scripts/setup-eval.sh.

use std::path::PathBuf;
use std::process::Command;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/eval")
}

#[test]
fn metrics_match_trec_eval_on_a_fixed_run() {
    let home = std::env::var_os("SLUICE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/sluice"));
    let python = home.join("eval-venv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: scripts/setup-eval.sh installs it",
            python.display()
        );
        eprintln!(
            "skipped: {} is missing (scripts/setup-eval.sh)",
            python.display()
        );
        return;
    }
    let o = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["eval", "--qrels"])
        .arg(data().join("qrels.tsv"))
        .arg("--score-run")
        .arg(data().join("run.trec"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ours: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(ours["queries"], 5);

    // The reference reads TREC qrels (`qid 0 docid rel`).
    let dir = tempfile::tempdir().unwrap();
    let tsv = std::fs::read_to_string(data().join("qrels.tsv")).unwrap();
    let trec: String = tsv
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .map(|c| format!("{} 0 {} {}\n", c[0], c[1], c[2]))
        .collect();
    std::fs::write(dir.path().join("qrels.trec"), trec).unwrap();
    let script = "import ir_measures, json, sys\n\
                  qrels = list(ir_measures.read_trec_qrels(sys.argv[1]))\n\
                  run = list(ir_measures.read_trec_run(sys.argv[2]))\n\
                  r = ir_measures.calc_aggregate([ir_measures.nDCG@10, ir_measures.R@100, ir_measures.RR@10], qrels, run)\n\
                  print(json.dumps({str(k): v for k, v in r.items()}))\n";
    let o = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(dir.path().join("qrels.trec"))
        .arg(data().join("run.trec"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let reference: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (ours_key, ref_key) in [
        ("ndcg@10", "nDCG@10"),
        ("recall@100", "R@100"),
        ("mrr@10", "RR@10"),
    ] {
        let (a, b) = (
            ours[ours_key].as_f64().unwrap(),
            reference[ref_key].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() < 1e-9,
            "{ours_key}: sluice {a} vs trec_eval {b}"
        );
    }
    // Hand-checked anchors, so the test fails if both drift together:
    // q1 nDCG = (1 + 2/log2 4) / (2 + 1/log2 3).
    let q1 = (1.0 + 2.0 / 4f64.log2()) / (2.0 + 1.0 / 3f64.log2());
    assert!((q1 - 0.760_2).abs() < 1e-4);
    assert!((ours["mrr@10"].as_f64().unwrap() - (1.0 + 0.0 + 1.0 + 0.0 + 1.0) / 5.0).abs() < 1e-9);
}
