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
    let configured = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].iter().any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
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
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(Resource::builder().with_service_name(service).build()).build();
    let tracer = provider.tracer("sluice");
    Ok(Some((provider, tracer)))
}
