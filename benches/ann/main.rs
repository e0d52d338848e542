//! The embedded index at scale, on real MiniLM embeddings.
//!
//! * **data** (made once, cached in `--data`, default `benches/ann/data`):
//!   SciFact's train abstracts cut into windows of 24 words every 10 words
//!   (≥ 100k texts), each embedded by the pipeline embedder (int8 model),
//!   and SciFact's 809 train queries embedded the same way. Real text and
//!   real embeddings: uniform random vectors behave nothing like them.
//! * **recall**: the vector leg's top 10 documents against an exact scan of
//!   the same vectors under the same ACL filter, over 100k chunks.
//! * **scale** at 10k / 100k / 1M chunks (1M: the real embeddings repeated
//!   with small Gaussian noise, renormalised): each size written through
//!   the index's sink, then served by a fresh reader process that reports
//!   its resident memory split into anonymous and file-mapped, and the
//!   hybrid leg latency (keyword + vector legs, ACL filter on; the query
//!   vectors are embedded beforehand, so the figure is the index's share).
//!
//! Run: `bash scripts/bench-ann.sh` (release build).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use sluice_core::search::{Access, SearchBackend, SearchFilters, SearchMode, SearchRequest};
use sluice_core::{
    Chunk, ChunkWrite, DocAccess, DocKind, Document, DocumentWrite, Sink, SinkBatch, TextEmbedder,
};
use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, default_model_dir};
use sluice_index::{EmbeddedIndex, EmbeddedSearch};

const DIM: usize = 384;

#[derive(Parser)]
struct Args {
    /// A BEIR folder: corpus.jsonl, queries.jsonl.
    #[arg(long, default_value = "../shared/data/scifact-train")]
    scifact: PathBuf,
    /// The bench's own data folder (cached embeddings, indexes).
    #[arg(long, default_value = "benches/ann/data")]
    data: PathBuf,
    #[command(subcommand)]
    what: Option<What>,
}

#[derive(Subcommand)]
enum What {
    /// Embed the windows and queries (skipped when cached).
    Prepare,
    /// Recall@10 of the vector leg against an exact scan, at `--size` chunks.
    Recall {
        #[arg(long, default_value_t = 100_000)]
        size: usize,
    },
    /// Build (or reuse) an index of `--size` chunks.
    Build {
        #[arg(long)]
        size: usize,
    },
    /// Open the index of `--size` chunks read-only in this fresh process:
    /// resident memory and hybrid latency.
    Serve {
        #[arg(long)]
        size: usize,
    },
    /// Everything: prepare, recall at 100k, build + serve at each size.
    All {
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        sizes: Vec<usize>,
    },
}

/// Ten groups; a chunk belongs to one, the searcher to three (30 % pass).
const GROUPS: usize = 10;

fn searcher() -> Access {
    Access::Principals((0..3).map(|g| format!("bench:group:g{g}")).collect())
}

fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.data)?;
    match &args.what {
        Some(What::Prepare) => prepare(&args)?,
        Some(What::Recall { size }) => recall(&args, *size)?,
        Some(What::Build { size }) => build(&args, *size).map(|_| ())?,
        Some(What::Serve { size }) => serve(&args, *size)?,
        Some(What::All { sizes }) => everything(&args, sizes)?,
        None => everything(&args, &[10_000, 100_000, 1_000_000])?,
    }
    Ok(())
}

fn everything(args: &Args, sizes: &[usize]) -> Result<()> {
    prepare(args)?;
    recall(args, 100_000)?;
    let me = std::env::current_exe()?;
    for size in sizes {
        for step in ["build", "serve"] {
            // Each step in its own process: serving memory is measured from
            // a process that never held the writer's buffers.
            let status = std::process::Command::new(&me)
                .arg("--scifact")
                .arg(&args.scifact)
                .arg("--data")
                .arg(&args.data)
                .args([step, "--size", &size.to_string()])
                .status()?;
            if !status.success() {
                return Err(anyhow!("{step} --size {size} failed"));
            }
        }
    }
    Ok(())
}

struct Data {
    texts: Vec<String>,
    vectors: Vec<f32>,
    queries: Vec<String>,
    qvectors: Vec<f32>,
}

fn floats(path: &Path) -> Result<Vec<f32>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("{} (run `prepare` first)", path.display()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect())
}

fn load(args: &Args) -> Result<Data> {
    prepare(args)?;
    let lines = |p: &Path| -> Result<Vec<String>> {
        Ok(std::fs::read_to_string(p)?
            .lines()
            .map(str::to_string)
            .collect())
    };
    Ok(Data {
        texts: lines(&args.data.join("texts.txt"))?,
        vectors: floats(&args.data.join("vectors.f32"))?,
        queries: lines(&args.data.join("queries.txt"))?,
        qvectors: floats(&args.data.join("queries.f32"))?,
    })
}

impl Data {
    fn real(&self) -> usize {
        self.vectors.len() / DIM
    }

    /// Chunk `i`'s vector: a real embedding for the first `real()` chunks,
    /// then the real ones again with Gaussian noise (σ 0.02 per component
    /// before renormalising; cosine to the original ≈ 0.93), renormalised.
    fn vector(&self, i: usize) -> Vec<f32> {
        let base = &self.vectors[(i % self.real()) * DIM..(i % self.real() + 1) * DIM];
        if i < self.real() {
            return base.to_vec();
        }
        let mut s = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut uniform = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 + 1.0) / (1u64 << 53) as f64
        };
        let mut v: Vec<f32> = base
            .iter()
            .map(|x| {
                // Box-Muller.
                let g =
                    (-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos();
                x + 0.02 * g as f32
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }

    fn text(&self, i: usize) -> &str {
        &self.texts[i % self.texts.len()]
    }

    fn query(&self, q: usize) -> &[f32] {
        &self.qvectors[q * DIM..(q + 1) * DIM]
    }
}

fn group_of(i: usize) -> usize {
    i % GROUPS
}

/// One chunk per document (so the vector leg's documents are its chunks).
fn write(data: &Data, i: usize) -> DocumentWrite {
    let mut d = Document::new("bench", &format!("w{i}"), DocKind::Page);
    d.title = format!("window {i}");
    d.access = Some(DocAccess::any_of([format!("bench:group:g{}", group_of(i))]));
    let id = d.doc_id();
    let text = data.text(i).to_string();
    let tokens = text.split_whitespace().count() as u32;
    DocumentWrite {
        links: None,
        doc_id: id,
        document: Arc::new(d),
        chunk_count: 1,
        chunks: vec![ChunkWrite {
            chunk: Chunk::new(id, 0, text, tokens),
            vector: Some(data.vector(i)),
        }],
    }
}

fn index_dir(args: &Args, size: usize) -> PathBuf {
    args.data.join(format!("index-{size}"))
}

/// Writes `size` chunks through the index's sink (SQLite, tantivy, graph
/// merges as in a sync), reusing a complete earlier build.
fn build(args: &Args, size: usize) -> Result<PathBuf> {
    let dir = index_dir(args, size);
    let done = dir.join("bench-complete");
    if done.exists() {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let data = load(args)?;
    let index = EmbeddedIndex::open(&dir, true).map_err(|e| anyhow!("{e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let mut last_report = Instant::now();
    for from in (0..size).step_by(2_000) {
        let writes: Vec<DocumentWrite> = (from..(from + 2_000).min(size))
            .map(|i| write(&data, i))
            .collect();
        rt.block_on(index.apply(&SinkBatch {
            writes,
            deletes: vec![],
        }))
        .map_err(|e| anyhow!("{}", e.message))?;
        if last_report.elapsed().as_secs() >= 30 {
            eprintln!(
                "  built {} / {size} ({:.0} s)",
                from + 2_000,
                started.elapsed().as_secs_f64()
            );
            last_report = Instant::now();
        }
    }
    let (delta, graph) = index.vector_parts().map_err(|e| anyhow!(e))?;
    println!(
        "build {size:>9} chunks: {:.0} s through the sink ({delta} chunks searched exactly, {graph} in the graph)",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(&done, "")?;
    Ok(dir)
}

fn exact_top(
    data: &Data,
    size: usize,
    q: &[f32],
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = (0..size)
        .filter(|i| keep(*i))
        .map(|i| {
            let v = if i < data.real() {
                data.vectors[i * DIM..(i + 1) * DIM].to_vec()
            } else {
                data.vector(i)
            };
            (q.iter().zip(&v).map(|(a, b)| a * b).sum(), i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

fn recall(args: &Args, size: usize) -> Result<()> {
    let dir = build(args, size)?;
    let data = load(args)?;
    let index = EmbeddedIndex::open(&dir, false).map_err(|e| anyhow!("{e}"))?;
    let allowed: Vec<bool> = (0..GROUPS).map(|g| g < 3).collect();
    let (mut hits_all, mut hits_acl, mut total) = (0usize, 0usize, 0usize);
    let (mut lat_all, mut lat_acl) = (Vec::new(), Vec::new());
    for q in 0..data.queries.len() {
        let qv = data.query(q);
        for (access, keep_group, hits, lat) in [
            (Access::All, None, &mut hits_all, &mut lat_all),
            (searcher(), Some(&allowed), &mut hits_acl, &mut lat_acl),
        ] {
            let want = exact_top(&data, size, qv, 10, |i| {
                keep_group.is_none_or(|a| a[group_of(i)])
            });
            let started = Instant::now();
            let got = index
                .vector_chunks(qv, 10, &SearchFilters::default(), &access)
                .map_err(|e| anyhow!(e))?;
            lat.push(started.elapsed().as_secs_f64() * 1000.0);
            let got: std::collections::HashSet<usize> = got
                .iter()
                .filter_map(|c| c.chunk.external_id.strip_prefix('w')?.parse().ok())
                .collect();
            *hits += want.iter().filter(|i| got.contains(i)).count();
        }
        total += 10;
    }
    let (delta, graph) = index.vector_parts().map_err(|e| anyhow!(e))?;
    println!(
        "recall@10 vs exact, {size} real MiniLM embeddings ({graph} in the graph, {delta} exact), {} queries:",
        data.queries.len()
    );
    println!(
        "  no filter        {:.4}   vector leg p50 {:.2} ms p99 {:.2} ms",
        hits_all as f64 / total as f64,
        pct(&mut lat_all, 0.5),
        pct(&mut lat_all, 0.99)
    );
    println!(
        "  ACL filter (30%) {:.4}   vector leg p50 {:.2} ms p99 {:.2} ms",
        hits_acl as f64 / total as f64,
        pct(&mut lat_acl, 0.5),
        pct(&mut lat_acl, 0.99)
    );
    println!("  target: >= 0.95");
    Ok(())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// (anonymous, file-backed) resident KiB of this process.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:") + field("RssShmem:"))
}

fn serve(args: &Args, size: usize) -> Result<()> {
    let dir = index_dir(args, size);
    // The queries first, so their memory is in the "before" figure.
    let (queries, qvectors) = {
        let data = load(args)?;
        (data.queries.clone(), data.qvectors.clone())
    };
    let before = rss();
    let started = Instant::now();
    let index = Arc::new(EmbeddedIndex::open(&dir, false).map_err(|e| anyhow!("{e}"))?);
    let open_s = started.elapsed().as_secs_f64();
    let opened = rss();
    let search = EmbeddedSearch::new(index.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut lines = Vec::new();
    for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
        let mut lat = Vec::new();
        for round in 0..2 {
            for (q, text) in queries.iter().enumerate() {
                let req = SearchRequest {
                    query: text.clone(),
                    top_k: 10,
                    mode,
                    filters: SearchFilters::default(),
                    access: searcher(),
                };
                let started = Instant::now();
                let r = rt
                    .block_on(search.search(&req, Some(&qvectors[q * DIM..(q + 1) * DIM])))
                    .map_err(|e| anyhow!(e))?;
                if round == 1 {
                    lat.push(started.elapsed().as_secs_f64() * 1000.0);
                }
                std::hint::black_box(r);
            }
        }
        lines.push(format!(
            "{mode:?} p50 {:.2} ms p99 {:.2} ms",
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.99)
        ));
    }
    let after = rss();
    let (delta, graph) = index.vector_parts().map_err(|e| anyhow!(e))?;
    let raw = size as f64 * DIM as f64 * 4.0 / 1048576.0;
    println!(
        "serve {size:>9} chunks: open {open_s:.1} s (anonymous +{:.0} MiB); resident growth after the queries: anonymous {:.0} MiB, file-mapped {:.0} MiB (raw fp32 vectors {raw:.0} MiB); {graph} in the graph, {delta} exact",
        (opened.0 as f64 - before.0 as f64) / 1024.0,
        (after.0 as f64 - before.0 as f64) / 1024.0,
        (after.1 as f64 - before.1 as f64) / 1024.0,
    );
    println!(
        "  one client, ACL filter on, {} queries (second pass): {}",
        queries.len(),
        lines.join("; ")
    );
    Ok(())
}

/// Windows of 24 words every 10 words over each abstract (title first).
fn windows(scifact: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for d in read_jsonl(&scifact.join("corpus.jsonl"))? {
        let s = |k: &str| {
            d.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let text = format!("{} {}", s("title"), s("text"));
        let words: Vec<&str> = text.split_whitespace().collect();
        let mut start = 0;
        loop {
            let end = (start + 24).min(words.len());
            out.push(words[start..end].join(" "));
            if end == words.len() {
                break;
            }
            start += 10;
        }
    }
    Ok(out)
}

fn prepare(args: &Args) -> Result<()> {
    let (texts_path, vectors_path) = (args.data.join("texts.txt"), args.data.join("vectors.f32"));
    let (queries_path, qvectors_path) =
        (args.data.join("queries.txt"), args.data.join("queries.f32"));
    if vectors_path.exists() && qvectors_path.exists() {
        println!("data: cached in {}", args.data.display());
        return Ok(());
    }
    let texts = windows(&args.scifact)?;
    let queries: Vec<String> = read_jsonl(&args.scifact.join("queries.jsonl"))?
        .iter()
        .map(|q| {
            q.get("text")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let embedder = OnnxEmbedder::load(&OnnxEmbedderConfig::new(&default_model_dir(
        "all-MiniLM-L6-v2",
    )))
    .map_err(|e| anyhow!("{e}"))?;
    let started = Instant::now();
    let mut vectors = Vec::with_capacity(texts.len() * DIM * 4);
    for (i, part) in texts.chunks(4096).enumerate() {
        let refs: Vec<&str> = part.iter().map(String::as_str).collect();
        for v in embedder.embed(&refs).map_err(|e| anyhow!("{e}"))? {
            vectors.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        }
        eprintln!(
            "embedded {} / {} windows ({:.0} s)",
            (i + 1) * 4096,
            texts.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let refs: Vec<&str> = queries.iter().map(String::as_str).collect();
    let qvectors: Vec<u8> = embedder
        .embed(&refs)
        .map_err(|e| anyhow!("{e}"))?
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    std::fs::write(&texts_path, texts.join("\n"))?;
    std::fs::write(&queries_path, queries.join("\n"))?;
    std::fs::write(&qvectors_path, qvectors)?;
    // Last: its presence marks the cache complete.
    std::fs::write(&vectors_path, vectors)?;
    println!(
        "data: {} windows and {} queries embedded in {:.0} s",
        texts.len(),
        queries.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn read_jsonl(path: &Path) -> Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("{}", path.display())))
        .collect()
}
