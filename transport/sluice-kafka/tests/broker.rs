//! The transport against a real Kafka-protocol broker (tansu on 127.0.0.1,
//! SQLite storage): publish with delivery acknowledgements, consume in a
//! group with manual commits, per-document order, tombstones, undecodable
//! records, and data plus committed offsets across a broker restart.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use sluice_core::{DocKind, Document};
use sluice_kafka::{BatchConsumer, Consumed, KafkaConfig, KafkaPublisher, Record};
use sluice_testservers::kafka_broker::LocalBroker;

fn doc(id: usize, title: &str) -> Document {
    let mut d = Document::new("wiki", id.to_string(), DocKind::Page);
    d.title = title.into();
    d.body = format!("Body of page {id}: {title}.");
    d
}

/// Reads until `n` records arrived (or fails after a minute).
async fn read(consumer: &mut BatchConsumer, n: usize) -> Vec<Consumed> {
    let mut all = Vec::new();
    let started = std::time::Instant::now();
    while all.len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {} of {n} records arrived",
            all.len()
        );
        all.extend(
            consumer
                .next_batch(500, Duration::from_millis(50), Duration::from_secs(2))
                .await
                .unwrap(),
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_consume_commit_and_survive_a_broker_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = LocalBroker::start(&dir.path().join("broker")).unwrap();
    let cfg = KafkaConfig::new(broker.bootstrap(), "sluice.kb");
    let publisher = KafkaPublisher::new(&cfg, "kb").unwrap();
    publisher.ensure_topic(4, 1).await.unwrap();
    publisher.ensure_topic(4, 1).await.unwrap(); // already there: fine

    // 2,000 documents in pages of 500; every page acknowledged in full.
    for page in 0..4 {
        let docs: Vec<Document> = (page * 500..(page + 1) * 500)
            .map(|i| doc(i, "first"))
            .collect();
        let ack = publisher.publish(&docs, &[]).await.unwrap();
        assert_eq!(ack.records, 500);
        assert!(ack.bytes > 500 * 50);
    }
    // Three versions of one document, then a deletion of another.
    for v in ["v1", "v2", "v3"] {
        publisher.publish(&[doc(7, v)], &[]).await.unwrap();
    }
    let gone = sluice_core::doc_id("wiki", "9");
    assert_eq!(
        publisher
            .publish(&[], &[("wiki".into(), gone)])
            .await
            .unwrap()
            .records,
        1
    );
    // A record no Sluice producer wrote.
    let raw: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    raw.send(
        FutureRecord::to("sluice.kb")
            .key("not-a-uuid")
            .payload("{}"),
        Duration::from_secs(10),
    )
    .await
    .unwrap();

    let mut consumer = BatchConsumer::new(&cfg, "indexer").unwrap();
    let got = read(&mut consumer, 2005).await;
    assert_eq!(got.len(), 2005);
    let mut latest: HashMap<uuid::Uuid, String> = HashMap::new();
    let mut deleted = Vec::new();
    let mut bad = Vec::new();
    for c in &got {
        match &c.record {
            Ok(Record::Upsert { pipeline, document }) => {
                assert_eq!(pipeline, "kb");
                latest.insert(
                    sluice_core::doc_id(&document.source, &document.external_id),
                    document.title.clone(),
                );
            }
            Ok(Record::Delete { source, doc_id, .. }) => deleted.push((source.clone(), *doc_id)),
            Err(e) => bad.push((e.0.clone(), c.key.clone())),
        }
    }
    assert_eq!(latest.len(), 2000);
    // One key, one partition, in order: the last version wins.
    assert_eq!(latest[&sluice_core::doc_id("wiki", "7")], "v3");
    assert_eq!(deleted, vec![("wiki".to_string(), gone)]);
    assert_eq!(bad.len(), 1);
    assert!(bad[0].0.contains("not a document id"), "{bad:?}");
    assert_eq!(bad[0].1.as_deref(), Some(&b"not-a-uuid"[..]));
    let partitions: std::collections::BTreeSet<i32> = got.iter().map(|c| c.partition).collect();
    assert_eq!(partitions.len(), 4, "keys spread over the 4 partitions");

    // Nothing committed yet: a new member of the group starts over.
    drop(consumer);
    let mut again = BatchConsumer::new(&cfg, "indexer").unwrap();
    let replay = read(&mut again, 2005).await;
    again.commit(&replay).unwrap();
    drop(again);

    // Committed offsets and data survive a broker restart.
    broker.restart().unwrap();
    let publisher = KafkaPublisher::new(&cfg, "kb").unwrap();
    let docs: Vec<Document> = (5000..5100).map(|i| doc(i, "after restart")).collect();
    assert_eq!(publisher.publish(&docs, &[]).await.unwrap().records, 100);
    let mut after = BatchConsumer::new(&cfg, "indexer").unwrap();
    let fresh = read(&mut after, 100).await;
    assert_eq!(fresh.len(), 100, "only records after the committed offsets");
    assert!(fresh.iter().all(|c| matches!(&c.record, Ok(Record::Upsert { document, .. }) if document.title == "after restart")));
    after.commit(&fresh).unwrap();
    assert!(
        after
            .next_batch(10, Duration::from_millis(50), Duration::from_secs(2))
            .await
            .unwrap()
            .is_empty()
    );
}
