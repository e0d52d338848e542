//! The cross-source link graph through the real engine: the bundled
//! sample's links against the hand-listed true ones, links that resolve
//! whatever order their documents arrive in and leave with them, the
//! access property (a linked document the caller may not read never
//! appears, not even as a title), and the HTTP API.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use sluice_core::doc_id;
use sluice_core::search::Access;
use sluice_engine::Pipeline;
use sluice_tests::{ByteEmbedder, pipeline_with, run_ok};
use sluice_testservers::elastic_fixture::{ElasticFixture, Flavor};
use sluice_testservers::qdrant_server::QdrantEdgeServer;
use uuid::Uuid;

async fn open(yaml: &str, dir: &Path, data: &Path) -> Pipeline {
    pipeline_with(yaml, dir, data, Arc::new(ByteEmbedder)).await
}

/// Every outgoing link the graph resolves, as (from, to) document ids.
fn resolved_links(p: &Pipeline, sources: &[&str]) -> BTreeSet<(Uuid, Uuid)> {
    let mut ids = Vec::new();
    for s in sources {
        ids.extend(
            p.state()
                .doc_ids_for_source(p.name(), s)
                .unwrap()
                .into_iter()
                .map(|(id, _)| id),
        );
    }
    p.state()
        .linked(p.name(), &ids)
        .unwrap()
        .into_iter()
        .filter(|l| l.outgoing)
        .map(|l| (l.from, l.doc_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_links_match_the_hand_listed_ones() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pipelines = repo.join("pipelines");
    let yaml = std::fs::read_to_string(pipelines.join("demo.yaml")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let p = open(&yaml, &pipelines, data.path()).await;
    let r = run_ok(&p, &yaml, &pipelines, false).await;
    let sources = [
        "confluence",
        "jira",
        "gitlab-issues",
        "gitlab-mrs",
        "slack",
        "slack-private",
    ];
    let found = resolved_links(&p, &sources);

    // The true links, listed from the sample's hand-written cross-references.
    let tsv = std::fs::read_to_string(pipelines.join("data/sample/links.tsv")).unwrap();
    let mut truth = BTreeSet::new();
    let mut names: HashMap<Uuid, String> = HashMap::new();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (a, b) = (doc_id(f[0], f[1]), doc_id(f[3], f[4]));
        names.insert(a, format!("{}:{}", f[0], f[1]));
        names.insert(b, format!("{}:{}", f[3], f[4]));
        truth.insert((a, b));
    }
    // A Slack thread split into parts links each part to the first: real
    // links the list (threads, not parts) does not hold.
    let parts: HashSet<Uuid> = p
        .state()
        .doc_ids_for_source(p.name(), "slack")
        .unwrap()
        .into_iter()
        .chain(
            p.state()
                .doc_ids_for_source(p.name(), "slack-private")
                .unwrap(),
        )
        .filter(|(_, ext)| ext.matches(':').count() > 2)
        .map(|(id, _)| id)
        .collect();
    let found: BTreeSet<_> = found
        .into_iter()
        .filter(|(a, _)| !parts.contains(a))
        .collect();
    let hit = found.intersection(&truth).count();
    let recall = hit as f64 / truth.len() as f64;
    let precision = hit as f64 / found.len() as f64;
    let missed: Vec<_> = truth
        .difference(&found)
        .map(|(a, b)| format!("{} -> {}", names[a], names[b]))
        .collect();
    let ext = p
        .state()
        .doc_states(
            p.name(),
            &found.iter().flat_map(|(a, b)| [*a, *b]).collect::<Vec<_>>(),
        )
        .unwrap();
    let ext: HashMap<Uuid, String> = ext
        .into_iter()
        .map(|s| (s.doc_id, format!("{}:{}", s.source, s.external_id)))
        .collect();
    let extra: Vec<_> = found
        .difference(&truth)
        .map(|(a, b)| format!("{} -> {}", ext[a], ext[b]))
        .collect();
    let link_seconds: f64 = r.sources.iter().map(|s| s.link_seconds).sum();
    let seconds: f64 = r.sources.iter().map(|s| s.seconds).sum();
    println!(
        "sample links: {} true, {} found, {hit} right: recall {recall:.3}, precision {precision:.3}; extraction {link_seconds:.3} s of {seconds:.2} s ingest (stand-in embedder, this build)",
        truth.len(),
        found.len()
    );
    println!("missed: {missed:?}\nnot listed: {extra:?}");
    assert!(recall >= 0.90, "recall {recall:.3}; missed: {missed:#?}");
    assert!(
        precision >= 0.95,
        "precision {precision:.3}; false: {extra:#?}"
    );
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

const SOURCES: &str = "name: g\nsources:\n  - id: jira\n    type: files\n    settings:\n      path: issues.jsonl\n      kind: issue\n      mapping:\n        id: key\n        title: \"{key}: {summary}\"\n        text: body\n        url: \"https://jira.example/browse/{key}\"\n        acl: \"group:{groups[*]}\"\n        acl_fallback: public\n  - id: chat\n    type: files\n    settings:\n      path: chat.jsonl\n      kind: thread\n      mapping:\n        id: id\n        title: title\n        text: text\n        text_format: markdown\n        acl: \"group:{groups[*]}\"\n        acl_fallback: public\n";
const EMBEDDED: &str = "sinks:\n  - type: embedded\n";

/// Qdrant (the Qdrant engine behind its gRPC API) and Elasticsearch (the
/// recorded-contract fixture): `related` from the links on first chunks.
struct Remote {
    qdrant: QdrantEdgeServer,
    es: Option<ElasticFixture>,
}

impl Remote {
    async fn start(with_es: bool) -> Remote {
        let es = match with_es {
            true => Some(ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap()),
            false => None,
        };
        Remote {
            qdrant: QdrantEdgeServer::start().await.unwrap(),
            es,
        }
    }

    fn sinks(&self) -> String {
        let mut s = format!("sinks:\n  - type: qdrant\n    url: {}\n", self.qdrant.url());
        if let Some(es) = &self.es {
            s += &format!(
                "  - type: elasticsearch\n    url: {}\n    refresh: wait_for\n",
                es.url()
            );
        }
        s
    }
}

fn issues(keys: &[&str]) -> Vec<Value> {
    keys.iter()
        .map(|k| json!({"key": k, "summary": format!("issue {k}"), "body": "Steps to reproduce.", "groups": []}))
        .collect()
}

async fn related_of(p: &Pipeline, id: Uuid, access: &Access) -> Vec<(String, String, String)> {
    p.search_backend()
        .unwrap()
        .related(&[id], access, 20)
        .await
        .unwrap()
        .remove(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.external_id, r.edge, r.direction))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_resolve_in_any_order_and_leave_with_their_documents() {
    links_resolve_in_any_order(EMBEDDED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_resolve_in_any_order_in_qdrant_and_elasticsearch() {
    let remote = Remote::start(true).await;
    links_resolve_in_any_order(&remote.sinks()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_resolve_in_any_order_in_qdrant_alone() {
    let remote = Remote::start(false).await;
    links_resolve_in_any_order(&remote.sinks()).await;
}

async fn links_resolve_in_any_order(sinks: &str) {
    let yaml = format!("{SOURCES}{sinks}");
    let yaml = yaml.as_str();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The thread arrives first; the issue it mentions does not exist yet.
    write_jsonl(
        &d.join("issues.jsonl"),
        &issues(&["OPS-1", "OPS-2", "OPS-3", "OPS-4"]),
    );
    write_jsonl(
        &d.join("chat.jsonl"),
        &[
            json!({"id": "t1", "title": "double billing", "text": "Customers billed twice, tracked in PAY-7. Runbook: [the page](https://jira.example/browse/OPS-2).\n\n```\nERROR PAY-8 is a log line, not a link\n```", "groups": []}),
        ],
    );
    let p = open(yaml, d, &d.join("data")).await;
    run_ok(&p, yaml, d, false).await;
    let thread = doc_id("chat", "t1");
    let all = Access::All;
    assert_eq!(
        related_of(&p, thread, &all).await,
        [(
            "OPS-2".to_string(),
            "links_to".to_string(),
            "out".to_string()
        )]
    );
    // The issue arrives later: the stored mention resolves, both ways.
    let mut rows = issues(&["OPS-1", "OPS-2", "OPS-3", "OPS-4"]);
    rows.push(
        json!({"key": "PAY-7", "summary": "Duplicate charges", "body": "See OPS-1.", "groups": []}),
    );
    rows.push(json!({"key": "PAY-8", "summary": "Unrelated", "body": "", "groups": []}));
    write_jsonl(&d.join("issues.jsonl"), &rows);
    run_ok(&p, yaml, d, false).await;
    let got = related_of(&p, thread, &all).await;
    assert_eq!(
        got,
        [
            (
                "OPS-2".to_string(),
                "links_to".to_string(),
                "out".to_string()
            ),
            (
                "PAY-7".to_string(),
                "mentions".to_string(),
                "out".to_string()
            ),
        ],
        "a key in a code block is not a link"
    );
    let pay7 = doc_id("jira", "PAY-7");
    assert_eq!(
        related_of(&p, pay7, &all).await,
        [
            (
                "OPS-1".to_string(),
                "mentions".to_string(),
                "out".to_string()
            ),
            ("t1".to_string(), "mentions".to_string(), "in".to_string()),
        ]
    );
    // Deleted at the source: its links go with it, both ways.
    rows.remove(4);
    write_jsonl(&d.join("issues.jsonl"), &rows);
    run_ok(&p, yaml, d, true).await;
    assert_eq!(
        related_of(&p, thread, &all).await,
        [(
            "OPS-2".to_string(),
            "links_to".to_string(),
            "out".to_string()
        )]
    );
    assert!(
        related_of(&p, doc_id("jira", "OPS-1"), &all)
            .await
            .is_empty()
    );
    // An edited text drops the link it no longer makes.
    write_jsonl(
        &d.join("chat.jsonl"),
        &[json!({"id": "t1", "title": "double billing", "text": "Fixed now.", "groups": []})],
    );
    run_ok(&p, yaml, d, false).await;
    assert!(related_of(&p, thread, &all).await.is_empty());
}

/// Tiny deterministic generator (no test dependency on `rand`'s streams).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_document_the_caller_may_not_read_never_appears() {
    linked_documents_follow_access(EMBEDDED, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_document_the_caller_may_not_read_never_appears_in_qdrant_and_elasticsearch() {
    let remote = Remote::start(true).await;
    linked_documents_follow_access(&remote.sinks(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_document_the_caller_may_not_read_never_appears_in_qdrant_alone() {
    let remote = Remote::start(false).await;
    linked_documents_follow_access(&remote.sinks(), false).await;
}

/// `from_state`: the backend reads the state store's graph (the embedded
/// index), whose access may be staler than the stores'.
async fn linked_documents_follow_access(sinks: &str, from_state: bool) {
    let yaml = format!("{SOURCES}{sinks}");
    let yaml = yaml.as_str();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rng = Lcg(20261207);
    let groups = ["g0", "g1", "g2", "g3"];
    let n = 40;
    let mut acl: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut links: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rows = Vec::new();
    for i in 0..n {
        let key = format!("SEC-{}", i + 1);
        // A third public, the rest readable by one or two groups.
        let g: Vec<String> = match rng.next(3) {
            0 => vec![],
            _ => (0..1 + rng.next(2))
                .map(|_| groups[rng.next(4) as usize].to_string())
                .collect(),
        };
        let targets: Vec<String> = (0..rng.next(5))
            .map(|_| format!("SEC-{}", 1 + rng.next(n)))
            .collect();
        let body = format!("Related work: {}.", targets.join(", "));
        acl.insert(key.clone(), g.clone());
        links.insert(
            key.clone(),
            targets.into_iter().filter(|t| *t != key).collect(),
        );
        rows.push(
            json!({"key": key, "summary": format!("secret title {i}"), "body": body, "groups": g}),
        );
    }
    write_jsonl(&d.join("issues.jsonl"), &rows);
    write_jsonl(&d.join("chat.jsonl"), &[]);
    let p = open(yaml, d, &d.join("data")).await;
    run_ok(&p, yaml, d, false).await;
    let backend = p.search_backend().unwrap();
    let readable = |key: &str, principals: &[String]| {
        let g = &acl[key];
        g.is_empty() || g.iter().any(|x| principals.contains(&format!("group:{x}")))
    };
    let ids: Vec<Uuid> = acl.keys().map(|k| doc_id("jira", k)).collect();
    let key_of: HashMap<Uuid, String> =
        acl.keys().map(|k| (doc_id("jira", k), k.clone())).collect();
    let mut shown = 0;
    for round in 0..25 {
        let principals: Vec<String> = groups
            .iter()
            .filter(|_| rng.next(2) == 0)
            .map(|g| format!("group:{g}"))
            .collect();
        let access = Access::Principals(principals.clone());
        let got = backend.related(&ids, &access, 50).await.unwrap();
        let titles: HashSet<String> = (0..n)
            .filter(|i| !readable(&format!("SEC-{}", i + 1), &principals))
            .map(|i| format!("SEC-{}: secret title {i}", i + 1))
            .collect();
        for list in got.values() {
            for r in list {
                assert!(
                    readable(&r.external_id, &principals),
                    "round {round}: {} shown to {principals:?}",
                    r.external_id
                );
                assert!(!titles.contains(&r.title));
                shown += 1;
            }
        }
        // Nothing readable is held back: every link between two readable
        // documents is there, in its direction; an unreadable document's
        // links are not read at all.
        for (key, targets) in &links {
            let id = doc_id("jira", key);
            if !readable(key, &principals) {
                assert!(
                    got.get(&id).is_none_or(|l| l.is_empty()),
                    "round {round}: {key}'s links read"
                );
                continue;
            }
            for t in targets.iter().filter(|t| readable(t, &principals)) {
                assert!(
                    got.get(&id)
                        .is_some_and(|l| l.iter().any(|r| &r.external_id == t)),
                    "round {round}: {key} -> {t} missing for {principals:?}"
                );
            }
        }
        // A traversal from an unreadable document answers nothing at all.
        for (id, key) in &key_of {
            let reached =
                sluice_search::traverse(std::slice::from_ref(&backend), *id, &access, 2, 10)
                    .await
                    .unwrap();
            match reached {
                None => assert!(!readable(key, &principals)),
                Some(list) => {
                    assert!(readable(key, &principals));
                    assert!(
                        list.iter()
                            .all(|r| readable(&r.doc.external_id, &principals))
                    );
                }
            }
        }
    }
    assert!(shown > 100, "the corpus links enough to test: {shown}");
    if !from_state {
        return;
    }

    // The state commits after the stores acknowledged; after a crash in
    // between it may hold an older, broader access than the stores. A
    // linked document shows only when the stores allow it too.
    let public = serde_json::to_string(&sluice_core::DocAccess::Public).unwrap();
    let restricted: Vec<Uuid> = acl
        .iter()
        .filter(|(_, g)| !g.is_empty())
        .map(|(k, _)| doc_id("jira", k))
        .collect();
    let widened: Vec<_> = restricted
        .iter()
        .map(|id| (*id, public.clone(), public.clone()))
        .collect();
    p.state().set_access(p.name(), &widened).unwrap();
    let nobody = Access::public_only();
    let got = backend.related(&ids, &nobody, 50).await.unwrap();
    assert!(
        got.values()
            .flatten()
            .all(|r| !restricted.contains(&r.doc_id)),
        "a stale state access never widens what related shows"
    );
    assert!(got.values().flatten().count() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_attaches_related_on_request_and_traverses_by_access() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rows = issues(&["OPS-1"]);
    rows.push(json!({"key": "SEC-1", "summary": "Restricted incident", "body": "Caused by OPS-1.", "groups": ["sec"]}));
    write_jsonl(&d.join("issues.jsonl"), &rows);
    write_jsonl(
        &d.join("chat.jsonl"),
        &[
            json!({"id": "t1", "title": "deploy rollback question", "text": "How do I roll back? See OPS-1 and SEC-1.", "groups": []}),
        ],
    );
    let yaml = format!("{SOURCES}{EMBEDDED}");
    let yaml = yaml.as_str();
    let p = open(yaml, d, &d.join("data")).await;
    run_ok(&p, yaml, d, false).await;
    let app = sluice_api::router(sluice_api::ApiState::new(
        p.search_backend().unwrap(),
        Arc::new(ByteEmbedder),
        Access::public_only(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");

    let search = |related: Option<bool>| {
        let mut body = json!({"query": "roll back", "mode": "keyword"});
        if let Some(r) = related {
            body["related"] = json!(r);
        }
        let (http, url) = (http.clone(), format!("{base}/v1/search"));
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let plain = search(None).await;
    assert_eq!(plain["hits"][0]["external_id"], "t1", "{plain}");
    assert!(plain["hits"][0].get("related").is_none(), "off by default");
    let with = search(Some(true)).await;
    let related = with["hits"][0]["related"].as_array().unwrap();
    // SEC-1 is restricted: neither it nor its title shows to a public caller.
    assert_eq!(related.len(), 1, "{with}");
    assert_eq!(related[0]["external_id"], "OPS-1");
    assert_eq!(related[0]["edge"], "mentions");
    assert_eq!(related[0]["direction"], "out");
    assert_eq!(related[0]["url"], "https://jira.example/browse/OPS-1");
    assert!(!with.to_string().contains("Restricted incident"));

    let get = |path: String| {
        let http = http.clone();
        async move {
            let r = http.get(path).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let ops1 = doc_id("jira", "OPS-1");
    let (status, v) = get(format!("{base}/v1/documents/{ops1}/related?depth=2")).await;
    assert_eq!(status, 200, "{v}");
    let reached: Vec<(&str, u64)> = v["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["external_id"].as_str().unwrap(),
                r["depth"].as_u64().unwrap(),
            )
        })
        .collect();
    // OPS-1 ← t1 (depth 1); SEC-1 links OPS-1 but is hidden, and is not
    // reached through t1 either.
    assert_eq!(reached, [("t1", 1)], "{v}");
    let sec1 = doc_id("jira", "SEC-1");
    let (status, _) = get(format!("{base}/v1/documents/{sec1}/related")).await;
    assert_eq!(status, 404, "an unreadable start is a missing one");
    let (status, _) = get(format!("{base}/v1/documents/{ops1}/related?depth=3")).await;
    assert_eq!(status, 400);
    let openapi = get(format!("{base}/openapi.json")).await.1;
    assert!(openapi["paths"]["/v1/documents/{id}/related"].is_object());
    assert!(openapi["components"]["schemas"]["SearchBody"]["properties"]["related"].is_object());
}
