//! Sluice benchmarks. Every figure is printed next to a baseline measured in
//! the same run, because these machines are noisy:
//!   * ingest: first sync of the demo corpus vs a re-sync of the unchanged corpus
//!   * embedding: chunks/s inside the first sync (the embedder against the
//!     bare fp32 baseline is benches/embed)
//!   * search: p50/p99 latency and requests/s against the HTTP API on the
//!     demo index, without auth vs with an API key vs with an RS256 JWT
//! Run: `bash scripts/bench.sh` (release build).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use serde_json::json;
use sluice_core::search::Access;
use sluice_embed::{OnnxEmbedder, OnnxEmbedderConfig, TextEmbedder, default_model_dir};
use sluice_engine::{Pipeline, RunOptions};
use sluice_spec::load_pipeline;

#[derive(Parser)]
struct Args {
    /// Pipeline to ingest.
    #[arg(long, default_value = "pipelines/demo.yaml")]
    pipeline: PathBuf,
    /// Search requests to send.
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Concurrent search clients.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// ONNX Runtime threads for both embedders.
    #[arg(long)]
    threads: Option<usize>,
}

fn threads(a: &Args) -> usize {
    a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let data = tempfile::tempdir()?;
    let mut cfg = OnnxEmbedderConfig::new(default_model_dir("all-MiniLM-L6-v2"));
    cfg.threads = Some(threads(&args));
    let embedder: Arc<dyn TextEmbedder> =
        Arc::new(OnnxEmbedder::load(&cfg).map_err(|e| anyhow!("{e}"))?);

    // --- ingest: first sync vs re-sync ------------------------------------
    let loaded = load_pipeline(&args.pipeline).map_err(|d| {
        anyhow!(
            "{}",
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let pipeline = Pipeline::open(
        &sluice_catalog::registry(),
        loaded.clone(),
        data.path(),
        Some(embedder.clone()),
    )
    .await
    .map_err(|e| anyhow!(e))?;
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded)
        .map_err(|d| anyhow!("{d:?}"))?;
    let first = pipeline.run(sources, &RunOptions::default()).await;
    anyhow::ensure!(!first.failed(), "first sync failed: {:?}", first.sources);
    let docs: u64 = first.sources.iter().map(|s| s.docs_seen).sum();
    let embed_s: f64 = first.sources.iter().map(|s| s.embed_seconds).sum();
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &loaded)
        .map_err(|d| anyhow!("{d:?}"))?;
    let second = pipeline.run(sources, &RunOptions::default()).await;
    println!(
        "== ingest ({} documents, {} chunks)",
        docs,
        first.chunks_embedded()
    );
    println!(
        "first sync      {:>8.2} s  {:>8.1} docs/s  ({:.1} s embedding)",
        first.seconds,
        docs as f64 / first.seconds,
        embed_s
    );
    println!(
        "unchanged resync{:>8.3} s  {:>8.1} docs/s  chunks embedded: {}, written: {}",
        second.seconds,
        docs as f64 / second.seconds,
        second.chunks_embedded(),
        second.chunks_written()
    );
    println!(
        "resync speed-up {:>8.1}x  (target >= 50x, 0 embeddings)",
        first.seconds / second.seconds
    );

    // --- transport: Kafka vs in-process on the same corpus ------------------
    // A failing section is reported and the others still run.
    if let Err(e) = kafka_vs_in_process(&loaded, embedder.clone(), docs, first.seconds).await {
        println!("\n== transport: FAILED: {e:#}");
    }

    let index = pipeline
        .store::<sluice_index::EmbeddedIndex>()
        .context("demo pipeline writes the embedded index")?
        .clone();
    // --- stores: sink throughput into Qdrant / Elasticsearch vs embedded -----
    if let Err(e) = stores_vs_embedded(&index).await {
        println!("\n== sinks: FAILED: {e:#}");
    }

    // --- embedding inside the sync ----------------------------------------
    // The embedder against the bare fp32 baseline, on SciFact, is
    // `scripts/bench-embed.sh` (its own package, benches/embed).
    let in_run_rate = first.chunks_embedded() as f64 / embed_s;
    println!(
        "\n== embedding inside the first sync: {:.1} chunks/s ({} threads); against the bare baseline: scripts/bench-embed.sh",
        in_run_rate,
        threads(&args)
    );
    drop(pipeline);

    // --- search: HTTP API latency, without and with auth --------------------
    // Three servers over the same index: no auth, an API key, an RS256 JWT.
    // Rounds alternate between them so machine noise hits all three alike.
    let reader: Arc<dyn sluice_core::search::SearchBackend> =
        Arc::new(sluice_index::EmbeddedSearch::new(Arc::new(
            sluice_index::EmbeddedIndex::open(&sluice_engine::index_dir(data.path()), false)
                .map_err(|e| anyhow!("{e}"))?,
        )));
    let jwt_dir = Path::new("tests/data/jwt");
    let key_file = format!(
        "keys:\n  - {{name: bench, sha256: {}, all_access: true, requests_per_minute: 100000000}}\njwt:\n  audience: sluice\n  jwks_file: jwks.json\n  requests_per_minute: 100000000\n",
        sluice_api::hash_key("slk_bench")
    );
    let open_url = serve(sluice_api::ApiState::new(
        reader.clone(),
        embedder.clone(),
        Access::All,
    ))
    .await?;
    let keyed_state = |_: ()| -> Result<_> {
        let keys = sluice_api::ApiKeys::parse_in(&key_file, jwt_dir).map_err(|e| anyhow!(e))?;
        Ok(sluice_api::ApiState::with_keys(
            reader.clone(),
            embedder.clone(),
            keys,
        ))
    };
    let key_url = serve(keyed_state(())?).await?;
    let jwt_url = serve(keyed_state(())?).await?;
    let token = bench_jwt(jwt_dir)?;
    let queries = demo_queries(&args.pipeline);
    let http = reqwest::Client::new();
    let runs: [(&str, &String, Option<String>); 3] = [
        ("no auth", &open_url, None),
        ("API key", &key_url, Some("slk_bench".into())),
        ("JWT RS256", &jwt_url, Some(token)),
    ];
    for (_, url, auth) in &runs {
        for q in queries.iter().take(5) {
            let mut rq = http.post(url.as_str()).json(&json!({"query": q}));
            if let Some(a) = auth {
                rq = rq.bearer_auth(a);
            }
            rq.send().await?.error_for_status()?;
        }
    }
    let rounds = 3;
    let mut results: Vec<(Vec<Duration>, f64)> = vec![(Vec::new(), 0.0); runs.len()];
    for _ in 0..rounds {
        for (i, (_, url, auth)) in runs.iter().enumerate() {
            let (lat, wall) = load(
                &http,
                url,
                auth.as_deref(),
                &queries,
                args.requests / rounds,
                args.concurrency,
            )
            .await?;
            results[i].0.extend(lat);
            results[i].1 += wall;
        }
    }
    println!(
        "\n== search (hybrid, HTTP, {} requests per setting in {rounds} alternating rounds, {} clients)",
        results[0].0.len(),
        args.concurrency
    );
    let mut base = (0.0, 0.0, 0.0);
    for (i, (name, _, _)) in runs.iter().enumerate() {
        let (lat, wall) = &mut results[i];
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e3;
        let (p50, p99, rps) = (pct(0.5), pct(0.99), lat.len() as f64 / *wall);
        if i == 0 {
            base = (p50, p99, rps);
            println!(
                "{name:<10} p50 {p50:>6.2} ms   p99 {p99:>6.2} ms   {rps:>7.1} req/s   (target p99 < 50 ms)"
            );
        } else {
            println!(
                "{name:<10} p50 {p50:>6.2} ms   p99 {p99:>6.2} ms   {rps:>7.1} req/s   ratio vs no auth: p50 {:.3}x  p99 {:.3}x  req/s {:.3}x",
                p50 / base.0,
                p99 / base.1,
                rps / base.2
            );
        }
    }
    Ok(())
}

/// Sink throughput on the same chunks and vectors (what the first sync
/// wrote): the embedded index vs the Qdrant sink (real qdrant-client →
/// gRPC → the Qdrant engine in qdrant-edge, on this machine) vs the
/// Elasticsearch sink (→ the recorded-contract fixture server). Embedding
/// is excluded so the sinks' own cost shows. Batches of 256 documents, as
/// the engine sends them.
async fn stores_vs_embedded(index: &sluice_index::EmbeddedIndex) -> Result<()> {
    use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite, Sink, SinkBatch};
    let payloads = index.payloads().map_err(|e| anyhow!(e))?;
    let mut by_doc: std::collections::BTreeMap<uuid::Uuid, Vec<sluice_core::search::ChunkPayload>> =
        Default::default();
    for p in payloads {
        by_doc.entry(p.doc_id).or_default().push(p);
    }
    let mut writes = Vec::new();
    for (doc_id, mut chunks) in by_doc {
        chunks.sort_by_key(|c| c.ordinal);
        let c0 = &chunks[0];
        let mut d = Document::new(
            c0.source.clone(),
            c0.external_id.clone(),
            c0.kind.parse().unwrap_or(DocKind::Document),
        );
        d.title = c0.title.clone();
        d.url = c0.url.clone();
        d.labels = c0.labels.clone();
        d.access = sluice_core::DocAccess::from_slots(&c0.acl);
        d.updated_at = c0
            .updated_at
            .and_then(chrono::DateTime::from_timestamp_micros);
        let chunks: Vec<ChunkWrite> = chunks
            .iter()
            .map(|c| ChunkWrite {
                chunk: Chunk::new(doc_id, c.ordinal, c.text.clone(), 0),
                vector: index.vector_of(&c.chunk_id),
            })
            .collect();
        writes.push(DocumentWrite {
            links: None,
            doc_id,
            document: Arc::new(d),
            chunk_count: chunks.len() as u32,
            chunks,
        });
    }
    let batches: Vec<SinkBatch> = writes
        .chunks(256)
        .map(|w| SinkBatch {
            writes: w.to_vec(),
            deletes: Vec::new(),
        })
        .collect();
    let (docs, chunks) = (
        writes.len(),
        writes.iter().map(|w| w.chunks.len()).sum::<usize>(),
    );
    let dim = writes
        .iter()
        .flat_map(|w| w.chunks.iter())
        .find_map(|c| c.vector.as_ref().map(Vec::len))
        .context("no vectors")?;

    let dir = tempfile::tempdir()?;
    let qdrant = sluice_testservers::qdrant_server::QdrantEdgeServer::start().await?;
    let es = sluice_testservers::elastic_fixture::ElasticFixture::start(
        sluice_testservers::elastic_fixture::Flavor::Elasticsearch8,
    )
    .await?;
    let qspec: sluice_spec::QdrantSinkSpec =
        serde_yaml_ng::from_str(&format!("url: {}", qdrant.url()))?;
    let espec: sluice_spec::ElasticsearchSinkSpec =
        serde_yaml_ng::from_str(&format!("url: {}", es.url()))?;
    let embedded: Arc<dyn Sink> = Arc::new(
        sluice_index::EmbeddedIndex::open(&dir.path().join("index"), true)
            .map_err(|e| anyhow!("{e}"))?,
    );
    let q: Arc<dyn Sink> = Arc::new(
        sluice_qdrant::QdrantStore::new(sluice_qdrant::QdrantStoreConfig {
            spec: qspec,
            url: qdrant.url(),
            api_key: None,
            collection: "bench".into(),
            dim,
        })
        .map_err(|e| anyhow!(e))?,
    );
    let e: Arc<dyn Sink> = Arc::new(
        sluice_elastic::ElasticStore::new(sluice_elastic::ElasticStoreConfig {
            spec: espec,
            url: es.url(),
            auth: sluice_elastic::Auth::None,
            alias: "bench".into(),
        })
        .map_err(|e| anyhow!(e))?,
    );
    // Bootstrap outside the timing (collection, indexes, template, alias).
    for s in [&q, &e] {
        s.apply(&SinkBatch::default())
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    println!(
        "\n== sinks ({docs} documents, {chunks} chunks with {dim}-dim vectors, batches of 256 documents, no embedding)"
    );
    let mut base = 0.0;
    for (name, sinks) in [
        ("embedded index", vec![embedded]),
        ("qdrant (edge server)", vec![q.clone()]),
        ("elasticsearch (fixture)", vec![e.clone()]),
        ("qdrant + elasticsearch", vec![q, e]),
    ] {
        let t = Instant::now();
        for b in &batches {
            futures::future::try_join_all(sinks.iter().map(|s| s.apply(b)))
                .await
                .map_err(|e| anyhow!("{e}"))?;
        }
        let secs = t.elapsed().as_secs_f64();
        let rate = docs as f64 / secs;
        if base == 0.0 {
            base = rate;
            println!(
                "{name:<24} {secs:>7.3} s  {rate:>9.1} docs/s  {:>9.1} chunks/s",
                chunks as f64 / secs
            );
        } else {
            println!(
                "{name:<24} {secs:>7.3} s  {rate:>9.1} docs/s  {:>9.1} chunks/s  ratio vs embedded {:.2}x",
                chunks as f64 / secs,
                rate / base
            );
        }
    }
    Ok(())
}

/// The same corpus through the Kafka transport: `run` publishes to a local
/// broker while a worker indexes; timed from the first publish until the
/// worker committed the last record (everything acknowledged by the sinks).
async fn kafka_vs_in_process(
    loaded: &sluice_spec::LoadedPipeline,
    embedder: Arc<dyn TextEmbedder>,
    docs: u64,
    in_process_s: f64,
) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let broker = sluice_testservers::kafka_broker::LocalBroker::start(&dir.path().join("broker"))
        .map_err(|e| anyhow!(e))?;
    let mut kl = loaded.clone();
    kl.spec.transport = sluice_spec::TransportSpec::Kafka(sluice_spec::KafkaTransportSpec {
        bootstrap_servers: broker.bootstrap(),
        topic: None,
        partitions: 4,
        replication: 1,
        dead_letter_topic: None,
        group: None,
        properties: Default::default(),
        batch_records: 256,
        linger_ms: 50,
    });
    let indexer = Pipeline::open_indexer(
        &sluice_catalog::registry(),
        kl.clone(),
        &dir.path().join("worker"),
        embedder,
    )
    .await
    .map_err(|e| anyhow!(e))?;
    let mut worker = sluice_kafka::IndexWorker::new(
        indexer,
        sluice_kafka::WorkerOptions {
            exit_when_idle: Some(Duration::from_secs(3)),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow!(e))?;
    let producer = Pipeline::open(
        &sluice_catalog::registry(),
        kl.clone(),
        &dir.path().join("producer"),
        None,
    )
    .await
    .map_err(|e| anyhow!(e))?;
    let started = Instant::now();
    let work = tokio::spawn(async move {
        let r = worker.run(std::future::pending()).await;
        (r, Instant::now())
    });
    let sources = sluice_engine::build_sources(&sluice_catalog::registry(), &kl)
        .map_err(|d| anyhow!("{d:?}"))?;
    let published = producer.run(sources, &RunOptions::default()).await;
    anyhow::ensure!(
        !published.failed(),
        "publishing failed: {:?}",
        published.sources
    );
    let publish_s = started.elapsed().as_secs_f64();
    let bytes: u64 = published.sources.iter().map(|s| s.bytes_published).sum();
    let records: u64 = published.sources.iter().map(|s| s.records_published).sum();
    let (report, _) = work.await?;
    let report = report.map_err(|e| anyhow!(e))?;
    anyhow::ensure!(
        report.records == records,
        "the worker consumed {} of {records} records",
        report.records
    );
    // The worker ran 3 s idle before stopping; the last commit is what counts.
    let kafka_s = report
        .last_commit_at
        .map(|t| t.duration_since(started).as_secs_f64())
        .unwrap_or(publish_s);
    let mb = bytes as f64 / 1e6;
    let (in_rate, k_rate) = (docs as f64 / in_process_s, records as f64 / kafka_s);
    let mut lat = report.latencies_ms.clone();
    lat.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("\n== transport ({records} records, {mb:.2} MB of envelopes; both embed every chunk)");
    println!(
        "in-process      {:>8.2} s  {:>8.1} records/s  {:>6.3} MB/s",
        in_process_s,
        in_rate,
        mb / in_process_s
    );
    println!(
        "kafka           {:>8.2} s  {:>8.1} records/s  {:>6.3} MB/s  ratio {:.2}x  (publish alone {:.2} s, {:.1} records/s)",
        kafka_s,
        k_rate,
        mb / kafka_s,
        k_rate / in_rate,
        publish_s,
        records as f64 / publish_s
    );
    println!(
        "produce → indexed latency  p50 {:.0} ms  p99 {:.0} ms  ({} batches)",
        pct(0.5),
        pct(0.99),
        report.batches
    );
    Ok(())
}

async fn serve(state: Arc<sluice_api::ApiState>) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = sluice_api::router(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1/search"))
}

/// A token for the test key in tests/data/jwt (valid for an hour).
fn bench_jwt(dir: &Path) -> Result<String> {
    let pem = std::fs::read(dir.join("test-rs256.pem"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.kid = Some("test-key-1".into());
    let claims =
        json!({"sub": "bench", "groups": ["engineering"], "aud": "sluice", "exp": now + 3600});
    Ok(jsonwebtoken::encode(
        &h,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem)?,
    )?)
}

/// `requests` searches from `concurrency` clients: latencies and wall time.
async fn load(
    http: &reqwest::Client,
    url: &str,
    auth: Option<&str>,
    queries: &[String],
    requests: usize,
    concurrency: usize,
) -> Result<(Vec<Duration>, f64)> {
    let started = Instant::now();
    let per_client = requests.div_ceil(concurrency.max(1));
    let mut tasks = Vec::new();
    for c in 0..concurrency.max(1) {
        let (http, url, queries, auth) = (
            http.clone(),
            url.to_string(),
            queries.to_vec(),
            auth.map(str::to_string),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let q = &queries[(c * per_client + i) % queries.len()];
                let t = Instant::now();
                let mut rq = http.post(&url).json(&json!({"query": q, "top_k": 10}));
                if let Some(a) = &auth {
                    rq = rq.bearer_auth(a);
                }
                rq.send().await?.error_for_status()?.bytes().await?;
                lat.push(t.elapsed());
            }
            Ok::<Vec<Duration>, reqwest::Error>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    Ok((lat, started.elapsed().as_secs_f64()))
}

/// Queries from the sample's evaluation list (or a fixed few).
fn demo_queries(pipeline: &Path) -> Vec<String> {
    let tsv = pipeline
        .parent()
        .unwrap_or(Path::new("."))
        .join("data/sample/queries.tsv");
    let qs: Vec<String> = std::fs::read_to_string(tsv)
        .map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| l.split('\t').next())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if qs.is_empty() {
        vec!["kafka consumer lag".into(), "refund retries".into()]
    } else {
        qs
    }
}
