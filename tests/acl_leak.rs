//! The randomized access property test: documents with random nested
//! access over principals of several systems (same-named groups in
//! Confluence, Slack and Jira, plus a files source's unqualified ones),
//! random callers, queries and filters, 1,000 queries per backend — the
//! embedded index (both legs), Qdrant (gRPC over the real Qdrant engine),
//! the Elasticsearch test server and the `noida-db` emulator (so the
//! project's own query evaluator is not the only judge). Every hit must pass
//! the access check written here, independently of `sluice_core::access`;
//! zero leaks allowed. The seed is printed, and `SLUICE_LEAK_SEED` replays one.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_core::search::{Access, KeywordLeg, LegChunk, SearchFilters, VectorLeg};
use sluice_core::{
    Chunk, ChunkWrite, DocAccess, DocKind, Document, DocumentWrite, Sink, SinkBatch,
};
use uuid::Uuid;

const DIM: usize = 8;
const DOCS: usize = 160;
const QUERIES: usize = 1000;
const WORDS: [&str; 12] = [
    "pager", "payroll", "deploy", "rollback", "vacation", "incident", "budget", "kafka", "latency",
    "review", "laptop", "refund",
];
const SOURCES: [&str; 3] = ["wiki", "chat", "tracker"];
const LABELS: [&str; 3] = ["ops", "hr", "eng"];

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Principals of three systems with the same group and user names, and
/// a files source's principals exactly as a pipeline author writes them.
fn principal_pool() -> Vec<String> {
    let mut pool = Vec::new();
    for system in ["confluence:wiki", "slack:chat", "jira:tracker"] {
        for g in ["hr", "eng", "sre"] {
            pool.push(format!("{system}:group:{g}"));
        }
        for u in ["alice", "bob", "carol"] {
            pool.push(format!("{system}:user:{u}"));
        }
    }
    pool.extend(["group:hr".to_string(), "group:eng".to_string()]);
    pool
}

struct Doc {
    doc: Document,
    chunks: Vec<(Chunk, Vec<f32>)>,
}

fn unit(rng: &mut Rng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM)
        .map(|_| (rng.below(2001) as f32 - 1000.0) / 1000.0)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.iter().map(|x| x / n).collect()
}

fn corpus(rng: &mut Rng, pool: &[String]) -> Vec<Doc> {
    (0..DOCS)
        .map(|i| {
            let mut d = Document::new(*rng.pick(&SOURCES), format!("doc-{i}"), DocKind::Page);
            d.title = format!("{} {}", rng.pick(&WORDS), rng.pick(&WORDS));
            d.labels = vec![rng.pick(&LABELS).to_string()];
            d.updated_at = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64, 0);
            d.access = Some(if rng.chance(12) {
                DocAccess::Public
            } else {
                let sets = 1 + rng.below(4);
                DocAccess::AllOf(
                    (0..sets)
                        .map(|_| {
                            (0..1 + rng.below(3))
                                .map(|_| rng.pick(pool).clone())
                                .collect()
                        })
                        .collect(),
                )
            });
            let id = d.doc_id();
            let chunks = (0..1 + rng.below(2))
                .map(|o| {
                    let text = (0..4)
                        .map(|_| *rng.pick(&WORDS))
                        .collect::<Vec<_>>()
                        .join(" ");
                    (Chunk::new(id, o as u32, text, 4), unit(rng))
                })
                .collect();
            Doc { doc: d, chunks }
        })
        .collect()
}

fn batch(docs: &[Doc]) -> SinkBatch {
    SinkBatch {
        writes: docs
            .iter()
            .map(|d| DocumentWrite {
                links: None,
                doc_id: d.doc.doc_id(),
                document: Arc::new(d.doc.clone()),
                chunk_count: d.chunks.len() as u32,
                chunks: d
                    .chunks
                    .iter()
                    .map(|(c, v)| ChunkWrite {
                        chunk: c.clone(),
                        vector: Some(v.clone()),
                    })
                    .collect(),
            })
            .collect(),
        deletes: Vec::new(),
    }
}

/// The access rule, written here from the model's definition and not
/// through `sluice_core::access`: public, or a principal of every set.
fn readable(caller: &[String], access: &DocAccess) -> bool {
    match access {
        DocAccess::Public => true,
        DocAccess::AllOf(sets) => {
            !sets.is_empty()
                && sets
                    .iter()
                    .all(|set| set.iter().any(|p| caller.contains(p)))
        }
    }
}

struct Query {
    text: String,
    vector: Vec<f32>,
    n: usize,
    filters: SearchFilters,
    caller: Vec<String>,
}

fn query(rng: &mut Rng, pool: &[String]) -> Query {
    let mut caller: Vec<String> = (0..rng.below(6)).map(|_| rng.pick(pool).clone()).collect();
    if rng.chance(10) {
        // A caller naming the filler of unused slots gains nothing.
        caller.push("*".into());
    }
    let mut filters = SearchFilters::default();
    if rng.chance(30) {
        filters.sources = vec![rng.pick(&SOURCES).to_string()];
    }
    if rng.chance(20) {
        filters.labels = vec![rng.pick(&LABELS).to_string()];
    }
    let text = (0..1 + rng.below(2))
        .map(|_| *rng.pick(&WORDS))
        .collect::<Vec<_>>()
        .join(" ");
    Query {
        text,
        vector: unit(rng),
        n: 1 + rng.below(60),
        filters,
        caller,
    }
}

#[derive(Default, Debug)]
struct Tally {
    queries: usize,
    hits: usize,
    restricted_hits: usize,
    leaks: Vec<String>,
}

impl Tally {
    fn check(&mut self, docs: &HashMap<Uuid, &Doc>, q: &Query, hits: &[LegChunk], backend: &str) {
        self.queries += 1;
        for h in hits {
            self.hits += 1;
            let Some(d) = docs.get(&h.chunk.doc_id) else {
                self.leaks
                    .push(format!("{backend}: unknown document {}", h.chunk.doc_id));
                continue;
            };
            let access = d.doc.access.as_ref().unwrap();
            if *access != DocAccess::Public {
                self.restricted_hits += 1;
            }
            if !readable(&q.caller, access) {
                self.leaks.push(format!(
                    "{backend}: `{}` returned {} ({access:?}) to {:?}",
                    q.text, d.doc.external_id, q.caller
                ));
            }
            if !q.filters.sources.is_empty() && !q.filters.sources.contains(&d.doc.source)
                || !q.filters.labels.is_empty() && !q.filters.labels.contains(&d.doc.labels[0])
            {
                self.leaks.push(format!(
                    "{backend}: {} ignores the filters {:?}",
                    d.doc.external_id, q.filters
                ));
            }
        }
    }

    fn assert_clean(&self, backend: &str) {
        println!(
            "{backend}: {} queries, {} hits ({} of restricted documents), {} leaks",
            self.queries,
            self.hits,
            self.restricted_hits,
            self.leaks.len()
        );
        assert!(
            self.leaks.is_empty(),
            "{backend}: {} leaks, first: {:#?}",
            self.leaks.len(),
            &self.leaks[..self.leaks.len().min(5)]
        );
        assert_eq!(self.queries, QUERIES, "{backend}");
        // Not vacuous: callers who may read restricted documents get them.
        assert!(
            self.restricted_hits > QUERIES / 10,
            "{backend}: only {} restricted hits; the test proves nothing",
            self.restricted_hits
        );
    }
}

fn seed() -> u64 {
    let s = std::env::var("SLUICE_LEAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_AC15);
    println!("seed {s} (replay with SLUICE_LEAK_SEED={s})");
    s.max(1)
}

/// The corpus, its index by id, and the queries every backend answers.
fn world() -> (Vec<Doc>, Vec<Query>) {
    let mut rng = Rng(seed());
    let pool = principal_pool();
    let docs = corpus(&mut rng, &pool);
    let queries = (0..QUERIES).map(|_| query(&mut rng, &pool)).collect();
    (docs, queries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_backend_returns_a_document_its_caller_may_not_read() {
    let (docs, queries) = world();
    let by_id: HashMap<Uuid, &Doc> = docs.iter().map(|d| (d.doc.doc_id(), d)).collect();
    let access = |q: &Query| Access::Principals(q.caller.clone());

    // The embedded index: both legs.
    let dir = tempfile::tempdir().unwrap();
    let embedded = sluice_index::EmbeddedIndex::open(&dir.path().join("index"), true).unwrap();
    embedded.apply(&batch(&docs)).await.unwrap();
    let (mut kw, mut vec) = (Tally::default(), Tally::default());
    for q in &queries {
        kw.check(
            &by_id,
            q,
            &embedded
                .keyword_chunks(&q.text, q.n, &q.filters, &access(q))
                .unwrap(),
            "embedded keyword",
        );
        vec.check(
            &by_id,
            q,
            &embedded
                .vector_chunks(&q.vector, q.n, &q.filters, &access(q))
                .unwrap(),
            "embedded vector",
        );
    }
    kw.assert_clean("embedded keyword leg");
    vec.assert_clean("embedded vector leg");

    // Qdrant: the payload filter on acl_0…acl_3, before its top-k.
    let server = sluice_testservers::qdrant_server::QdrantEdgeServer::start()
        .await
        .unwrap();
    let spec: sluice_spec::QdrantSinkSpec =
        serde_yaml_ng::from_str(&format!("url: {}", server.url())).unwrap();
    let qdrant = sluice_qdrant::QdrantStore::new(sluice_qdrant::QdrantStoreConfig {
        spec,
        url: server.url(),
        api_key: None,
        collection: "leak".into(),
        dim: DIM,
    })
    .unwrap();
    let ack = qdrant.apply(&batch(&docs)).await.unwrap();
    assert!(ack.rejected.is_empty());
    let mut t = Tally::default();
    for q in &queries {
        t.check(
            &by_id,
            q,
            &qdrant
                .vector_search(&q.vector, q.n, &q.filters, &access(q))
                .await
                .unwrap(),
            "qdrant",
        );
    }
    t.assert_clean("qdrant");

    // Elasticsearch: the project's test server, then the noida-db emulator.
    let fixture = sluice_testservers::elastic_fixture::ElasticFixture::start(
        sluice_testservers::elastic_fixture::Flavor::Elasticsearch8,
    )
    .await
    .unwrap();
    let noida = sluice_testservers::elastic_emulator::NoidaElasticsearch::start().unwrap();
    let mut targets = vec![("elasticsearch test server", fixture.url())];
    if let Some(n) = &noida {
        targets.push(("noida-db emulator", n.url()));
    }
    for (name, url) in targets {
        let spec: sluice_spec::ElasticsearchSinkSpec =
            serde_yaml_ng::from_str(&format!("url: {url}\nrefresh: wait_for")).unwrap();
        let es = sluice_elastic::ElasticStore::new(sluice_elastic::ElasticStoreConfig {
            spec,
            url: url.clone(),
            auth: sluice_elastic::Auth::None,
            alias: "leak".into(),
        })
        .unwrap();
        let ack = es.apply(&batch(&docs)).await.unwrap();
        assert!(ack.rejected.is_empty(), "{name}: {:?}", ack.rejected);
        let mut t = Tally::default();
        for q in &queries {
            t.check(
                &by_id,
                q,
                &es.keyword_search(&q.text, q.n, &q.filters, &access(q))
                    .await
                    .unwrap(),
                name,
            );
        }
        t.assert_clean(name);
    }
    drop(noida);
}
