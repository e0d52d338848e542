//! Embedding throughput and its cost to retrieval, on SciFact's train
//! corpus, every figure next to the bare baseline measured in the same run:
//!
//! * **bare baseline** (the reference every ratio divides by): one fp32 ONNX
//!   Runtime session of the unmodified exported `model.onnx`, intra-op
//!   threads = `--threads` (2), each abstract as `title + " " + text`
//!   truncated at 256 tokens, sorted by token count, batches of 32;
//!   tokenising and running, nothing else (no pooling). Also printed
//!   unsorted, as a second figure.
//! * **pipeline embedder**, fp32 and int8, on the same texts: what the
//!   engine calls (tokenise, sort, token-budget batches, pool, normalise).
//! * **quality**: nDCG@10 of the full train split's 809 queries over those
//!   document vectors, fp32 against int8 (vector search only, no chunking;
//!   `sluice eval --precision` gives the chunked vector and hybrid figures).
//! * **ingest** (with `--sluice PATH`): the wall time of `sluice eval` on the
//!   corpus (whole ingest, every token chunked and embedded, plus the 809
//!   queries) against the bare baseline's time.
//!
//! Tokens are real tokens (special tokens included, padding not).
//! Run: `bash scripts/bench-embed.sh [--sluice target/release/sluice]`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use ort::session::Session;
use ort::value::Tensor;
use sluice_core::TextEmbedder;
use sluice_embed::{
    OnnxEmbedder, OnnxEmbedderConfig, Precision, default_model_dir, default_ort_library,
    ort_environment,
};

#[derive(Parser)]
struct Args {
    /// A BEIR folder: corpus.jsonl, queries.jsonl, qrels/train.tsv.
    #[arg(long, default_value = "../shared/data/scifact-train")]
    scifact: PathBuf,
    /// Intra-op threads for every session (the baseline's definition: 2).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Only the first N abstracts (a quick run; quality and ingest are skipped).
    #[arg(long)]
    limit: Option<usize>,
    /// A `sluice` binary: also time `sluice eval` on the corpus.
    #[arg(long)]
    sluice: Option<PathBuf>,
}

/// Time, texts and real tokens of one pass.
struct Pass {
    seconds: f64,
    texts: usize,
    tokens: usize,
}

impl Pass {
    fn tokens_per_s(&self) -> f64 {
        self.tokens as f64 / self.seconds
    }
    fn line(&self, name: &str, base: Option<&Pass>) -> String {
        let head = format!(
            "{name:<26} {:>7.1} s {:>9.0} tokens/s {:>7.1} texts/s",
            self.seconds,
            self.tokens_per_s(),
            self.texts as f64 / self.seconds
        );
        match base {
            Some(b) => format!(
                "{head}   {:.2}x the bare baseline's tokens/s",
                self.tokens_per_s() / b.tokens_per_s()
            ),
            None => head,
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let corpus = read_jsonl(&args.scifact.join("corpus.jsonl"))?;
    let mut docs: Vec<(String, String)> = corpus
        .iter()
        .map(|d| {
            let s = |k: &str| {
                d.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            (s("_id"), format!("{} {}", s("title"), s("text")))
        })
        .collect();
    if let Some(n) = args.limit {
        docs.truncate(n);
    }
    let texts: Vec<&str> = docs.iter().map(|(_, t)| t.as_str()).collect();
    let model_dir = default_model_dir("all-MiniLM-L6-v2");

    println!(
        "== embedding ({} SciFact abstracts, title + text, at most 256 tokens; {} intra-op threads)",
        texts.len(),
        args.threads
    );
    let bare = bare_session(&model_dir, &texts, args.threads, true)?;
    println!("{}", bare.line("bare fp32 session, sorted", None));
    let unsorted = bare_session(&model_dir, &texts, args.threads, false)?;
    println!(
        "{}",
        unsorted.line("bare fp32 session, unsorted", Some(&bare))
    );
    let mut vectors = HashMap::new();
    for precision in [Precision::Fp32, Precision::Int8] {
        let mut cfg = OnnxEmbedderConfig::new(&model_dir);
        cfg.precision = precision;
        cfg.threads = Some(args.threads);
        let embedder = OnnxEmbedder::load(&cfg).map_err(|e| anyhow!("{e}"))?;
        let started = Instant::now();
        let v = embedder.embed(&texts).map_err(|e| anyhow!("{e}"))?;
        let pass = Pass {
            seconds: started.elapsed().as_secs_f64(),
            texts: texts.len(),
            tokens: bare.tokens,
        };
        println!(
            "{}",
            pass.line(
                &format!("pipeline embedder, {}", precision.name()),
                Some(&bare)
            )
        );
        vectors.insert(precision.name(), (embedder, v));
    }
    println!("target: int8 pipeline embedder >= 2.50x");
    // What overlapping tokenisation with inference could at most save.
    let (embedder, _) = &vectors["int8"];
    let started = Instant::now();
    let tokens: usize = texts.iter().map(|t| embedder.count_tokens(t)).sum();
    std::hint::black_box(tokens);
    println!(
        "tokenising alone: {:.1} s (one thread)",
        started.elapsed().as_secs_f64()
    );

    if args.limit.is_some() {
        return Ok(());
    }
    let queries = read_jsonl(&args.scifact.join("queries.jsonl"))?;
    let qrels = read_qrels(&args.scifact.join("qrels/train.tsv"))?;
    let queries: Vec<(String, String)> = queries
        .iter()
        .filter_map(|q| {
            Some((
                q.get("_id")?.as_str()?.to_string(),
                q.get("text")?.as_str()?.to_string(),
            ))
        })
        .filter(|(id, _)| qrels.contains_key(id))
        .collect();
    println!(
        "\n== quality (vector search over whole abstracts, {} queries, nDCG@10)",
        queries.len()
    );
    let ids: Vec<&str> = docs.iter().map(|(id, _)| id.as_str()).collect();
    let mut fp32 = 0.0;
    for name in ["fp32", "int8"] {
        let (embedder, doc_vectors) = &vectors[name];
        let q: Vec<&str> = queries.iter().map(|(_, t)| t.as_str()).collect();
        let qv = embedder.embed(&q).map_err(|e| anyhow!("{e}"))?;
        let score = mean_ndcg10(&qv, doc_vectors, &ids, &queries, &qrels);
        if name == "fp32" {
            fp32 = score;
            println!("{name}  {score:.4}");
        } else {
            println!(
                "{name}  {score:.4}   difference {:+.4} (target: within 0.005)",
                score - fp32
            );
        }
    }

    if let Some(sluice) = &args.sluice {
        println!(
            "\n== SciFact ingest (`sluice eval`: every abstract chunked and embedded whole, plus the queries)"
        );
        let data = tempfile::tempdir()?;
        let started = Instant::now();
        let out = Command::new(sluice)
            .args(["eval", "--corpus"])
            .arg(args.scifact.join("corpus.jsonl"))
            .arg("--queries")
            .arg(args.scifact.join("queries.jsonl"))
            .arg("--qrels")
            .arg(args.scifact.join("qrels/train.tsv"))
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .arg("--out")
            .arg(data.path().join("out"))
            .args(["--threads", &args.threads.to_string()])
            .output()
            .with_context(|| format!("running {}", sluice.display()))?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            out.status.success(),
            "sluice eval failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        for line in stdout.lines().filter(|l| {
            l.contains("nDCG")
                || l.contains("chunks")
                || l.starts_with("keyword")
                || l.starts_with("vector")
                || l.starts_with("hybrid")
        }) {
            println!("  {line}");
        }
        println!(
            "sluice eval {seconds:>7.1} s   {:.2}x the bare baseline's {:.1} s (target <= 0.60x)",
            seconds / bare.seconds,
            bare.seconds
        );
    }
    Ok(())
}

/// The reference: tokenise (truncating at 256), optionally sort by token
/// count, run batches of 32 through one fp32 session. No pooling.
fn bare_session(model_dir: &Path, texts: &[&str], threads: usize, sorted: bool) -> Result<Pass> {
    let env = ort_environment(&default_ort_library()).map_err(|e| anyhow!("{e}"))?;
    let mut tok = tokenizers::Tokenizer::from_file(model_dir.join("tokenizer.json"))
        .map_err(|e| anyhow!("{e}"))?;
    tok.with_truncation(Some(tokenizers::TruncationParams {
        max_length: 256,
        ..Default::default()
    }))
    .map_err(|e| anyhow!("{e}"))?;
    tok.with_padding(None);
    let mut session = Session::builder(env)?
        .with_intra_threads(threads)
        .map_err(|e| anyhow!("{e}"))?
        .commit_from_file(model_dir.join("model.onnx"))?;
    let started = Instant::now();
    let encoded: Vec<Vec<i64>> = texts
        .iter()
        .map(|t| {
            tok.encode(*t, true)
                .map(|e| e.get_ids().iter().map(|&x| x as i64).collect())
                .map_err(|e| anyhow!("{e}"))
        })
        .collect::<Result<_>>()?;
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    if sorted {
        order.sort_by_key(|&i| encoded[i].len());
    }
    for group in order.chunks(32) {
        let seq = group.iter().map(|&i| encoded[i].len()).max().unwrap_or(1);
        let mut ids = vec![0i64; group.len() * seq];
        let mut mask = vec![0i64; group.len() * seq];
        for (row, &i) in group.iter().enumerate() {
            ids[row * seq..row * seq + encoded[i].len()].copy_from_slice(&encoded[i]);
            mask[row * seq..row * seq + encoded[i].len()].fill(1);
        }
        let shape = [group.len() as i64, seq as i64];
        let out = session.run(ort::inputs![
            "input_ids" => Tensor::from_array((shape, ids))?,
            "attention_mask" => Tensor::from_array((shape, mask))?,
            "token_type_ids" => Tensor::from_array((shape, vec![0i64; group.len() * seq]))?
        ])?;
        let (_, data) = out["last_hidden_state"].try_extract_tensor::<f32>()?;
        std::hint::black_box(data);
    }
    Ok(Pass {
        seconds: started.elapsed().as_secs_f64(),
        texts: texts.len(),
        tokens: encoded.iter().map(Vec::len).sum(),
    })
}

fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("{}", path.display())))
        .collect()
}

/// query id -> (doc id -> grade), from a BEIR qrels TSV with a header.
fn read_qrels(path: &Path) -> Result<HashMap<String, HashMap<String, f64>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    let mut out: HashMap<String, HashMap<String, f64>> = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(q), Some(d), Some(Ok(g))) = (
            f.first(),
            f.get(1),
            f.get(2).map(|g| g.trim().parse::<f64>()),
        ) else {
            continue;
        };
        out.entry(q.to_string())
            .or_default()
            .insert(d.to_string(), g);
    }
    Ok(out)
}

/// Mean nDCG@10 of exact dot-product search (the vectors are unit length).
fn mean_ndcg10(
    query_vectors: &[Vec<f32>],
    doc_vectors: &[Vec<f32>],
    doc_ids: &[&str],
    queries: &[(String, String)],
    qrels: &HashMap<String, HashMap<String, f64>>,
) -> f64 {
    let mut total = 0.0;
    for (qv, (qid, _)) in query_vectors.iter().zip(queries) {
        let mut scored: Vec<(f32, usize)> = doc_vectors
            .iter()
            .enumerate()
            .map(|(i, d)| (qv.iter().zip(d).map(|(a, b)| a * b).sum(), i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let rel = &qrels[qid];
        let dcg: f64 = scored
            .iter()
            .take(10)
            .enumerate()
            .map(|(r, (_, i))| {
                rel.get(doc_ids[*i]).copied().unwrap_or(0.0) / ((r + 2) as f64).log2()
            })
            .sum();
        let mut ideal: Vec<f64> = rel.values().copied().collect();
        ideal.sort_by(|a, b| b.total_cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(10)
            .enumerate()
            .map(|(r, g)| g / ((r + 2) as f64).log2())
            .sum();
        total += if idcg > 0.0 { dcg / idcg } else { 0.0 };
    }
    total / query_vectors.len().max(1) as f64
}
