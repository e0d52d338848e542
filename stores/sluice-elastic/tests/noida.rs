//! Round trip through an Elasticsearch API emulator (`noida-db`, PyPI):
//! bootstrap, `_bulk`, search, `_delete_by_query`, and data across a server
//! restart. It is not Elasticsearch: assertions are on sets and contents.

use std::sync::Arc;

use sluice_core::search::{Access, SearchFilters};
use sluice_core::{Chunk, ChunkWrite, DocKind, Document, DocumentWrite, Sink, SinkBatch};
use sluice_elastic::{Auth, ElasticStore, ElasticStoreConfig};
use sluice_spec::ElasticsearchSinkSpec;
use sluice_testservers::elastic_emulator::NoidaElasticsearch;

fn store(url: &str) -> ElasticStore {
    let spec: ElasticsearchSinkSpec =
        serde_yaml_ng::from_str(&format!("url: {url}\nrefresh: wait_for")).unwrap();
    ElasticStore::new(ElasticStoreConfig {
        spec,
        url: url.into(),
        auth: Auth::None,
        alias: "kb".into(),
    })
    .unwrap()
}

fn write(source: &str, id: &str, acl: &[&str], texts: &[&str]) -> DocumentWrite {
    let mut d = Document::new(source, id, DocKind::Page);
    d.title = format!("Page {id}");
    d.access = Some(if acl.is_empty() {
        sluice_core::DocAccess::Public
    } else {
        sluice_core::DocAccess::any_of(acl.iter().copied())
    });
    d.updated_at = chrono::DateTime::from_timestamp(1_700_000_000, 0);
    let doc_id = d.doc_id();
    DocumentWrite {
        links: None,
        doc_id,
        document: Arc::new(d),
        chunk_count: texts.len() as u32,
        chunks: texts
            .iter()
            .enumerate()
            .map(|(i, t)| ChunkWrite {
                chunk: Chunk::new(doc_id, i as u32, t.to_string(), 3),
                vector: None,
            })
            .collect(),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn round_trip_through_an_elasticsearch_api_emulator() {
    let Some(mut server) = NoidaElasticsearch::start().unwrap() else {
        return;
    };
    let s = store(&server.url());
    let a = write(
        "wiki",
        "a",
        &[],
        &[
            "restart the pager service",
            "then page the on-call engineer",
        ],
    );
    let b = write("wiki", "b", &["group:hr"], &["payroll pager rota"]);
    let c = write("jira", "c", &[], &["checkout latency alert"]);
    let ack = s
        .apply(&SinkBatch {
            writes: vec![a.clone(), b.clone(), c.clone()],
            deletes: vec![],
        })
        .await
        .unwrap();
    assert_eq!(ack.chunks_written, 4);
    assert!(ack.rejected.is_empty(), "{:?}", ack.rejected);
    assert_eq!(s.count().await.unwrap(), 4);

    let ids = |hits: Vec<sluice_elastic::KeywordHit>| {
        sorted(hits.into_iter().map(|h| h.chunk.external_id).collect())
    };
    let all = SearchFilters::default();
    assert_eq!(
        ids(s
            .search_chunks("pager", 10, &all, &Access::public_only(), 200)
            .await
            .unwrap()),
        vec!["a"]
    );
    assert_eq!(
        ids(s
            .search_chunks(
                "pager",
                10,
                &all,
                &Access::Principals(vec!["group:hr".into()]),
                200
            )
            .await
            .unwrap()),
        vec!["a", "b"]
    );
    let jira = SearchFilters {
        sources: vec!["jira".into()],
        ..Default::default()
    };
    assert_eq!(
        ids(s
            .search_chunks("latency", 10, &jira, &Access::All, 200)
            .await
            .unwrap()),
        vec!["c"]
    );
    assert!(
        s.search_chunks(
            "latency",
            10,
            &SearchFilters {
                sources: vec!["wiki".into()],
                ..Default::default()
            },
            &Access::All,
            200
        )
        .await
        .unwrap()
        .is_empty()
    );
    let chunks = s.document_chunks(&a.doc_id).await.unwrap();
    assert_eq!(
        chunks.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        vec![
            "restart the pager service",
            "then page the on-call engineer"
        ]
    );

    // `a` shrinks to one chunk, `c` is deleted.
    let a2 = write("wiki", "a", &[], &["restart the pager service"]);
    s.apply(&SinkBatch {
        writes: vec![a2],
        deletes: vec![c.doc_id],
    })
    .await
    .unwrap();
    assert_eq!(s.count().await.unwrap(), 2);
    assert!(s.document_chunks(&c.doc_id).await.unwrap().is_empty());

    // Data, mapping and alias survive a server restart.
    server.restart().unwrap();
    let s = store(&server.url());
    assert_eq!(s.count().await.unwrap(), 2);
    assert_eq!(
        ids(s
            .search_chunks("pager", 10, &all, &Access::All, 200)
            .await
            .unwrap()),
        vec!["a", "b"]
    );
}
