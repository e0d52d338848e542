//! Logs, traces and the metrics endpoint of processes without the API.
//!
//! OpenTelemetry traces over OTLP (HTTP/protobuf), switched on by the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`)
//! variable. Spans: `sync_run` → `batch` → `embed` / `sink_write` for
//! syncs, `search` → `embed_query` / `keyword_leg` / `vector_leg` for
//! queries.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The tracer provider and a tracer, when an OTLP endpoint is configured.
pub fn tracer_from_env() -> Result<Option<(SdkTracerProvider, SdkTracer)>, String> {
    let configured = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    if !configured {
        return Ok(None);
    }
    // The exporter reads the endpoint (appending /v1/traces to the base
    // endpoint), headers and timeout from the standard variables.
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: {e}"))?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "sluice".into());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer("sluice");
    Ok(Some((provider, tracer)))
}

/// Logs on stderr (text or JSON, `SLUICE_LOG` / `-v`), plus OTLP spans
/// when an endpoint is configured; returns the provider to flush at exit.
pub fn init_logs(format: &str, verbose: u8) -> Option<SdkTracerProvider> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = match verbose {
        0 => "warn,sluice_engine=info,sluice_kafka=info,sluice_cli=info,sluice_daemon=info",
        1 => "info",
        _ => "debug,tantivy=info,datafusion=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let (tracer, otel_error) = match tracer_from_env() {
        Ok(t) => (t, None),
        Err(e) => (None, Some(e)),
    };
    // Spans go to OTLP at info level whatever the log filter says.
    let otel = tracer.as_ref().map(|(_, t)| {
        tracing_opentelemetry::layer()
            .with_tracer(t.clone())
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("sluice", tracing::Level::INFO),
            )
    });
    let registry = tracing_subscriber::registry().with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    if format == "json" {
        registry.with(fmt.json().with_filter(filter)).init();
    } else {
        registry
            .with(fmt.with_target(false).compact().with_filter(filter))
            .init();
    }
    if let Some(e) = otel_error {
        tracing::warn!("{e}; traces are not exported");
    }
    tracer.map(|(p, _)| p)
}

/// Serves `registry` at `/metrics` (Prometheus text) and liveness at
/// `/healthz` on `addr`, in the background; for processes without the
/// search API (the worker).
#[cfg_attr(not(feature = "kafka"), allow(dead_code))]
pub async fn serve_metrics(
    addr: &str,
    registry: prometheus::Registry,
) -> Result<(), std::io::Error> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || {
                let registry = registry.clone();
                async move {
                    let text = prometheus::TextEncoder::new()
                        .encode_to_string(&registry.gather())
                        .unwrap_or_default();
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        text,
                    )
                }
            }),
        )
        // Liveness for orchestrators: the process and its runtime answer.
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    Ok(())
}
