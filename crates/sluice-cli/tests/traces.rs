//! OpenTelemetry: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, `sluice run` and
//! `sluice search` export OTLP/HTTP protobuf spans, received here by a
//! small collector on 127.0.0.1 and decoded with the OTLP protobuf types.
//! A sync is one trace `sync_run` → `batch` → `embed` / `sink_write`; a
//! query one trace `search` → `embed_query`, `keyword_leg`, `vector_leg`.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

async fn collector() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
    let sink = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let req = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
                let mut s = sink.lock().unwrap();
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| a.value.clone());
                    assert!(
                        format!("{service:?}").contains("sluice"),
                        "service.name: {service:?}"
                    );
                    for ss in rs.scope_spans {
                        s.extend(ss.spans);
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), spans)
}

async fn sluice(dir: &std::path::Path, endpoint: &str, args: &[&str]) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "sluice {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn is_child(child: &Span, parent: &Span) -> bool {
    child.trace_id == parent.trace_id && child.parent_span_id == parent.span_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_search_export_nested_spans_over_otlp() {
    let (endpoint, spans) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kb.jsonl"),
        "{\"id\":\"a\",\"title\":\"Aardvark feeding\",\"text\":\"Aardvarks eat termites at night.\"}\n{\"id\":\"b\",\"title\":\"Badger setts\",\"text\":\"Badgers dig setts.\"}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("kb.yaml"), "name: kb\nsources:\n  - id: notes\n    type: files\n    visibility: public\n    settings:\n      path: kb.jsonl\n").unwrap();
    sluice(
        dir.path(),
        &endpoint,
        &["run", "kb.yaml", "--data-dir", "data"],
    )
    .await;
    {
        let spans = spans.lock().unwrap();
        let run = named(&spans, "sync_run");
        assert_eq!(
            run.len(),
            1,
            "{:?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        let batches = named(&spans, "batch");
        assert!(!batches.is_empty() && batches.iter().all(|b| is_child(b, run[0])));
        let embed = named(&spans, "embed");
        let writes = named(&spans, "sink_write");
        assert!(
            !embed.is_empty() && embed.iter().all(|e| batches.iter().any(|b| is_child(e, b))),
            "embed spans hang under a batch"
        );
        assert!(
            !writes.is_empty()
                && writes
                    .iter()
                    .all(|w| batches.iter().any(|b| is_child(w, b))),
            "sink writes hang under a batch"
        );
        let attrs = |s: &Span| {
            s.attributes
                .iter()
                .map(|a| a.key.clone())
                .collect::<Vec<_>>()
        };
        assert!(
            attrs(run[0]).contains(&"pipeline".to_string())
                && attrs(run[0]).contains(&"source".to_string())
        );
    }
    spans.lock().unwrap().clear();

    sluice(
        dir.path(),
        &endpoint,
        &["search", "termites", "--data-dir", "data"],
    )
    .await;
    let spans = spans.lock().unwrap();
    let search = named(&spans, "search");
    assert_eq!(
        search.len(),
        1,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for leg in ["embed_query", "keyword_leg", "vector_leg"] {
        let l = named(&spans, leg);
        assert_eq!(l.len(), 1, "{leg}");
        assert!(is_child(l[0], search[0]), "{leg} hangs under search");
        assert!(l[0].end_time_unix_nano >= l[0].start_time_unix_nano);
    }
}
