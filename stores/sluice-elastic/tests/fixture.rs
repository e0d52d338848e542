//! The Elasticsearch sink and keyword search against the recorded-contract
//! fixture server (Elasticsearch 8 and OpenSearch 2 response shapes, with
//! scripted failures). Semantics only: ranking is the fixture's, not
//! Lucene's, so assertions are on sets and contents.

use std::sync::Arc;

use serde_json::json;
use sluice_core::search::{Access, SearchFilters};
use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite, Sink, SinkBatch};
use sluice_elastic::{Auth, ElasticStore, ElasticStoreConfig, Flavor as ServerFlavor};
use sluice_spec::ElasticsearchSinkSpec;
use sluice_testservers::elastic_fixture::{ElasticFixture, Flavor, ItemFault};

fn store(url: &str, auth: Auth, tweak: impl FnOnce(&mut ElasticsearchSinkSpec)) -> ElasticStore {
    let mut spec: ElasticsearchSinkSpec = serde_yaml_ng::from_str(&format!(
        "url: {url}\nrefresh: wait_for\nmax_attempts: 4\ntimeout_secs: 5"
    ))
    .unwrap();
    tweak(&mut spec);
    ElasticStore::new(ElasticStoreConfig {
        spec,
        url: url.into(),
        auth,
        alias: "kb".into(),
    })
    .unwrap()
}

fn doc(id: &str, body_words: &str, acl: &[&str]) -> Document {
    let mut d = Document::new("wiki", id, DocKind::Page);
    d.title = format!("Page {id}");
    d.body = body_words.into();
    d.access = Some(if acl.is_empty() {
        sluice_core::DocAccess::Public
    } else {
        sluice_core::DocAccess::any_of(acl.iter().copied())
    });
    d.labels = vec!["ops".into()];
    d.updated_at = chrono::DateTime::from_timestamp(1_700_000_000, 0);
    d
}

fn write(d: &Document, texts: &[&str]) -> DocumentWrite {
    let id = d.doc_id();
    DocumentWrite {
        links: None,
        doc_id: id,
        document: Arc::new(d.clone()),
        chunk_count: texts.len() as u32,
        chunks: texts
            .iter()
            .enumerate()
            .map(|(i, t)| ChunkWrite {
                chunk: Chunk::new(id, i as u32, t.to_string(), 3),
                vector: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn bootstrap_installs_template_versioned_index_and_alias_on_both_flavors() {
    for flavor in [Flavor::Elasticsearch8, Flavor::OpenSearch2] {
        let es = ElasticFixture::start(flavor).await.unwrap();
        let s = store(&es.url(), Auth::None, |_| {});
        s.apply(&SinkBatch::default()).await.unwrap();
        match (flavor, s.flavor().await.unwrap()) {
            (Flavor::Elasticsearch8, ServerFlavor::Elasticsearch(v)) => {
                assert!(v.starts_with("8."))
            }
            (Flavor::OpenSearch2, ServerFlavor::OpenSearch(v)) => assert!(v.starts_with("2.")),
            other => panic!("wrong flavor {other:?}"),
        }
        assert_eq!(es.alias_indices("kb"), vec!["kb-v1".to_string()]);
        let t = es.template("kb").unwrap();
        assert_eq!(t["index_patterns"], json!(["kb-v*"]));
        assert_eq!(es.mapping("kb-v1").unwrap()["dynamic"], "strict");
        // A second writer (another process) reuses the alias.
        store(&es.url(), Auth::None, |_| {})
            .apply(&SinkBatch::default())
            .await
            .unwrap();
        assert_eq!(es.index_names(), vec!["kb-v1".to_string()]);
    }
}

#[tokio::test]
async fn bulk_items_refused_with_429_are_retried_and_mapping_errors_are_dead_lettered() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let s = store(&es.url(), Auth::None, |_| {});
    let (a, b, c) = (doc("a", "", &[]), doc("b", "", &[]), doc("c", "", &[]));
    es.add_item_fault(ItemFault {
        field: "external_id".into(),
        value: json!("a"),
        status: 429,
        error_type: "es_rejected_execution_exception".into(),
        reason: "rejected execution of coordinating operation".into(),
        times: Some(3),
    });
    es.add_item_fault(ItemFault {
        field: "external_id".into(),
        value: json!("b"),
        status: 400,
        error_type: "document_parsing_exception".into(),
        reason: "[1:44] failed to parse field [title] of type [text]".into(),
        times: None,
    });
    es.add_item_fault(ItemFault {
        field: "external_id".into(),
        value: json!("c"),
        status: 409,
        error_type: "version_conflict_engine_exception".into(),
        reason: "version conflict".into(),
        times: Some(1),
    });
    let ack = s
        .apply(&SinkBatch {
            writes: vec![
                write(&a, &["alpha one", "alpha two"]),
                write(&b, &["beta"]),
                write(&c, &["gamma"]),
            ],
            deletes: vec![],
        })
        .await
        .unwrap();
    assert_eq!(ack.chunks_written, 3, "a's two chunks and c's");
    assert_eq!(ack.rejected.len(), 1);
    assert_eq!(ack.rejected[0].doc_id, b.doc_id());
    assert!(
        ack.rejected[0]
            .reason
            .contains("document_parsing_exception"),
        "{:?}",
        ack.rejected
    );
    let mut stored: Vec<String> = es
        .documents("kb")
        .values()
        .map(|d| d["external_id"].as_str().unwrap().to_string())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        vec!["a", "a", "c"],
        "everything but the rejected document is stored"
    );
    // Three 429s for `a`'s chunks: both in the first request, one in the
    // second; each retry resends only the refused items.
    let bulks = es
        .requests()
        .iter()
        .filter(|(_, p)| p.starts_with("/_bulk"))
        .count();
    assert_eq!(
        bulks, 3,
        "first request, then retries of only the refused items"
    );
}

#[tokio::test]
async fn items_refused_past_max_attempts_fail_the_batch_as_transient() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let s = store(&es.url(), Auth::None, |sp| sp.max_attempts = 2);
    let a = doc("a", "", &[]);
    es.add_item_fault(ItemFault {
        field: "external_id".into(),
        value: json!("a"),
        status: 503,
        error_type: "unavailable_shards_exception".into(),
        reason: "primary shard is not active".into(),
        times: None,
    });
    let e = s
        .apply(&SinkBatch {
            writes: vec![write(&a, &["x"])],
            deletes: vec![],
        })
        .await
        .unwrap_err();
    assert!(
        e.transient && e.message.contains("unavailable_shards_exception"),
        "{e}"
    );
}

#[tokio::test]
async fn whole_request_503s_are_retried() {
    let es = ElasticFixture::start(Flavor::OpenSearch2).await.unwrap();
    let s = store(&es.url(), Auth::None, |_| {});
    s.apply(&SinkBatch::default()).await.unwrap();
    es.fail_requests("/_bulk", 2);
    es.fail_requests("/_delete_by_query", 1);
    let a = doc("a", "", &[]);
    s.apply(&SinkBatch {
        writes: vec![write(&a, &["x"])],
        deletes: vec![],
    })
    .await
    .unwrap();
    assert_eq!(es.documents("kb").len(), 1);
}

#[tokio::test]
async fn stale_chunks_and_deleted_documents_are_removed() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let s = store(&es.url(), Auth::None, |_| {});
    let (a, b) = (doc("a", "", &[]), doc("b", "", &[]));
    s.apply(&SinkBatch {
        writes: vec![write(&a, &["one", "two", "three"]), write(&b, &["bee"])],
        deletes: vec![],
    })
    .await
    .unwrap();
    assert_eq!(s.count().await.unwrap(), 4);
    s.apply(&SinkBatch {
        writes: vec![write(&a, &["one"])],
        deletes: vec![b.doc_id()],
    })
    .await
    .unwrap();
    assert_eq!(s.count().await.unwrap(), 1);
    let chunks = s.document_chunks(&a.doc_id()).await.unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "one");
    assert!(s.document_chunks(&b.doc_id()).await.unwrap().is_empty());
}

#[tokio::test]
async fn keyword_search_filters_by_acl_and_fields_and_highlights() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let s = store(&es.url(), Auth::None, |_| {});
    let public = doc("public", "", &[]);
    let hr = doc("hr", "", &["group:hr"]);
    let mut jira = doc("jira-1", "", &[]);
    jira.source = "jira".into();
    s.apply(&SinkBatch {
        writes: vec![
            write(&public, &["restart the <pager> service"]),
            write(&hr, &["pager duty for payroll"]),
            write(&jira, &["pager alert on checkout"]),
        ],
        deletes: vec![],
    })
    .await
    .unwrap();
    let ids = |hits: &[sluice_elastic::KeywordHit]| {
        let mut v: Vec<String> = hits.iter().map(|h| h.chunk.external_id.clone()).collect();
        v.sort();
        v
    };
    let all = SearchFilters::default();
    let hits = s
        .search_chunks("pager", 10, &all, &Access::public_only(), 240)
        .await
        .unwrap();
    assert_eq!(ids(&hits), vec!["jira-1", "public"]);
    let h = hits
        .iter()
        .find(|h| h.chunk.external_id == "public")
        .unwrap();
    assert!(
        h.snippet.as_deref().unwrap().contains("<mark>")
            && h.snippet.as_deref().unwrap().contains("&lt;"),
        "{:?}",
        h.snippet
    );
    assert_eq!(
        ids(&s
            .search_chunks(
                "pager",
                10,
                &all,
                &Access::Principals(vec!["group:hr".into()]),
                240
            )
            .await
            .unwrap()),
        vec!["hr", "jira-1", "public"]
    );
    let f = SearchFilters {
        sources: vec!["jira".into()],
        ..Default::default()
    };
    assert_eq!(
        ids(&s
            .search_chunks("pager", 10, &f, &Access::All, 240)
            .await
            .unwrap()),
        vec!["jira-1"]
    );
    assert!(
        s.search_chunks("nothing-matches-this", 10, &all, &Access::All, 240)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn api_key_basic_and_bearer_auth_are_sent_and_rejections_name_the_fix() {
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("elastic:changeme")
    );
    for (header, auth) in [
        (
            "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==".to_string(),
            Auth::ApiKey("VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==".into()),
        ),
        (
            basic,
            Auth::Basic {
                username: "elastic".into(),
                password: "changeme".into(),
            },
        ),
        (
            "Bearer AAEAAWVsYXN0aWM".to_string(),
            Auth::Bearer("AAEAAWVsYXN0aWM".into()),
        ),
    ] {
        let es = ElasticFixture::start_with_auth(Flavor::Elasticsearch8, Some(header))
            .await
            .unwrap();
        store(&es.url(), auth, |_| {})
            .apply(&SinkBatch::default())
            .await
            .unwrap();
        let e = store(&es.url(), Auth::Bearer("wrong".into()), |_| {})
            .apply(&SinkBatch::default())
            .await
            .unwrap_err();
        assert!(
            !e.transient && e.message.contains("401") && e.message.contains("auth:"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn full_reindex_swaps_the_alias_atomically() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let s = store(&es.url(), Auth::None, |_| {});
    let a = doc("a", "", &[]);
    s.apply(&SinkBatch {
        writes: vec![write(&a, &["old text"])],
        deletes: vec![],
    })
    .await
    .unwrap();
    let next = s.create_next_version().await.unwrap();
    assert_eq!(next, "kb-v2");
    let target = s.writing_to(&next).unwrap();
    target
        .apply(&SinkBatch {
            writes: vec![write(&a, &["new text"])],
            deletes: vec![],
        })
        .await
        .unwrap();
    // Until the swap, searches still read v1.
    assert_eq!(
        s.document_chunks(&a.doc_id()).await.unwrap()[0].text,
        "old text"
    );
    s.swap_to(&next).await.unwrap();
    assert_eq!(es.alias_indices("kb"), vec!["kb-v2".to_string()]);
    assert_eq!(
        es.index_names(),
        vec!["kb-v2".to_string()],
        "the old index is deleted"
    );
    assert_eq!(
        s.document_chunks(&a.doc_id()).await.unwrap()[0].text,
        "new text"
    );
}

#[tokio::test]
async fn an_index_named_like_the_alias_is_refused_with_the_fix() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    reqwest::Client::new()
        .put(format!("{}/kb", es.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let e = store(&es.url(), Auth::None, |_| {})
        .apply(&SinkBatch::default())
        .await
        .unwrap_err();
    assert!(
        !e.transient && e.message.contains("is an index, not an alias"),
        "{e}"
    );
}

/// An index made before the access model (a flat `acl` and `public`, an
/// empty ACL meaning everyone) is upgraded in place: the `acl_N` fields
/// are added to its strict mapping, its old chunks are hidden from every
/// restricted caller, and new writes with the fields are accepted.
#[tokio::test]
async fn an_index_from_before_the_access_model_is_upgraded_and_fails_closed() {
    let es = ElasticFixture::start(Flavor::Elasticsearch8).await.unwrap();
    let http = reqwest::Client::new();
    let old_mapping = json!({ "mappings": { "dynamic": "strict", "properties": {
        "doc_id": { "type": "keyword" }, "chunk_id": { "type": "keyword" }, "ordinal": { "type": "integer" },
        "source": { "type": "keyword" }, "external_id": { "type": "keyword" }, "kind": { "type": "keyword" },
        "title": { "type": "text" }, "text": { "type": "text" }, "url": { "type": "keyword" }, "author": { "type": "keyword" },
        "labels": { "type": "keyword" }, "acl": { "type": "keyword" }, "public": { "type": "boolean" },
        "updated_at": { "type": "date" }, "content_hash": { "type": "keyword" } } } });
    http.put(format!("{}/kb-v1", es.url()))
        .json(&old_mapping)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    http.post(format!("{}/_aliases", es.url())).json(&json!({ "actions": [{ "add": { "index": "kb-v1", "alias": "kb", "is_write_index": true } }] })).send().await.unwrap().error_for_status().unwrap();
    let old_doc = json!({ "doc_id": "00000000-0000-0000-0000-000000000001", "chunk_id": "00000000-0000-0000-0000-000000000002", "ordinal": 0,
        "source": "wiki", "external_id": "old", "kind": "page", "title": "Salary bands", "text": "salary bands per level",
        "labels": [], "acl": [], "public": true });
    let bulk = format!(
        "{}\n{}\n",
        json!({ "index": { "_index": "kb", "_id": "00000000-0000-0000-0000-000000000002" } }),
        old_doc
    );
    http.post(format!("{}/_bulk?refresh=true", es.url()))
        .header("content-type", "application/x-ndjson")
        .body(bulk)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();

    let s = store(&es.url(), Auth::None, |_| {});
    let ack = s
        .apply(&SinkBatch {
            writes: vec![write(
                &doc("new", "salary review notes", &["group:hr"]),
                &["salary review notes"],
            )],
            deletes: vec![],
        })
        .await
        .unwrap();
    assert!(
        ack.rejected.is_empty(),
        "the upgraded mapping takes the access fields: {:?}",
        ack.rejected
    );
    assert_eq!(
        es.mapping("kb-v1").unwrap()["properties"]["acl_0"]["type"],
        "keyword"
    );
    let ids = |hits: Vec<sluice_elastic::KeywordHit>| {
        hits.into_iter()
            .map(|h| h.chunk.external_id)
            .collect::<Vec<_>>()
    };
    let all = SearchFilters::default();
    assert!(
        ids(s
            .search_chunks("salary", 10, &all, &Access::public_only(), 100)
            .await
            .unwrap())
        .is_empty(),
        "an old empty ACL is not public"
    );
    assert_eq!(
        ids(s
            .search_chunks(
                "salary",
                10,
                &all,
                &Access::Principals(vec!["group:hr".into()]),
                100
            )
            .await
            .unwrap()),
        vec!["new"]
    );
    assert_eq!(
        ids(s
            .search_chunks("salary", 10, &all, &Access::All, 100)
            .await
            .unwrap())
        .len(),
        2
    );
}
