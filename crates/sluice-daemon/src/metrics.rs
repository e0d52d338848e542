//! Prometheus metrics of scheduled syncs, fed by the engine's progress
//! events and reported by the API's `/metrics`.

use std::sync::Arc;

use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use sluice_engine::{ProgressEvent, SourceStatus};
use sluice_state::StateStore;

#[derive(Clone)]
pub struct SyncMetrics {
    runs: IntCounterVec,
    duration: HistogramVec,
    documents: IntCounterVec,
    dead_letters: IntCounterVec,
    embed_batch: HistogramVec,
    embedded_chunks: IntCounterVec,
    indexed_documents: IntGaugeVec,
    indexed_chunks: IntGaugeVec,
    last_success: GaugeVec,
}

impl SyncMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> Result<SyncMetrics, prometheus::Error> {
        let pl = &["pipeline", "source"];
        let m = SyncMetrics {
            runs: IntCounterVec::new(
                Opts::new(
                    "sluice_sync_runs_total",
                    "Finished source runs by mode and status (ok, failed)",
                ),
                &["pipeline", "source", "mode", "status"],
            )?,
            duration: HistogramVec::new(
                HistogramOpts::new("sluice_sync_duration_seconds", "Duration of source runs")
                    .buckets(vec![
                        0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
                    ]),
                pl,
            )?,
            documents: IntCounterVec::new(
                Opts::new(
                    "sluice_sync_documents_total",
                    "Documents synced by change (added, updated, unchanged, deleted)",
                ),
                &["pipeline", "source", "change"],
            )?,
            dead_letters: IntCounterVec::new(
                Opts::new(
                    "sluice_sync_dead_letters_total",
                    "Records that could not be indexed (see `sluice status`)",
                ),
                pl,
            )?,
            embed_batch: HistogramVec::new(
                HistogramOpts::new(
                    "sluice_embed_batch_seconds",
                    "Latency of one embedding batch",
                )
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["pipeline"],
            )?,
            embedded_chunks: IntCounterVec::new(
                Opts::new("sluice_embedded_chunks_total", "Chunks embedded"),
                &["pipeline"],
            )?,
            indexed_documents: IntGaugeVec::new(
                Opts::new(
                    "sluice_indexed_documents",
                    "Documents in the index by source",
                ),
                pl,
            )?,
            indexed_chunks: IntGaugeVec::new(
                Opts::new("sluice_indexed_chunks", "Chunks in the index by source"),
                pl,
            )?,
            last_success: GaugeVec::new(
                Opts::new(
                    "sluice_sync_last_success_timestamp_seconds",
                    "Unix time the last successful run finished",
                ),
                pl,
            )?,
        };
        registry.register(Box::new(m.runs.clone()))?;
        registry.register(Box::new(m.duration.clone()))?;
        registry.register(Box::new(m.documents.clone()))?;
        registry.register(Box::new(m.dead_letters.clone()))?;
        registry.register(Box::new(m.embed_batch.clone()))?;
        registry.register(Box::new(m.embedded_chunks.clone()))?;
        registry.register(Box::new(m.indexed_documents.clone()))?;
        registry.register(Box::new(m.indexed_chunks.clone()))?;
        registry.register(Box::new(m.last_success.clone()))?;
        Ok(m)
    }

    /// Sets the per-source index gauges from the pipeline's state.
    pub fn refresh_index_counts(&self, pipeline: &str, state: &StateStore) {
        if let Ok(counts) = state.count_documents(pipeline) {
            for (source, docs, chunks) in counts {
                self.indexed_documents
                    .with_label_values(&[pipeline, &source])
                    .set(docs as i64);
                self.indexed_chunks
                    .with_label_values(&[pipeline, &source])
                    .set(chunks as i64);
            }
        }
    }

    /// An observer for `Pipeline::with_observer`.
    pub fn observer(
        &self,
        pipeline: &str,
        state: Arc<StateStore>,
    ) -> impl Fn(&ProgressEvent) + Send + Sync + 'static {
        let (m, pipeline) = (self.clone(), pipeline.to_string());
        move |e| match e {
            ProgressEvent::EmbedBatch {
                chunks, seconds, ..
            } => {
                m.embed_batch
                    .with_label_values(&[&pipeline])
                    .observe(*seconds);
                m.embedded_chunks
                    .with_label_values(&[&pipeline])
                    .inc_by(*chunks as u64);
            }
            ProgressEvent::SourceFinished(r) => {
                let status = match r.status {
                    SourceStatus::Ok => "ok",
                    SourceStatus::Failed(_) => "failed",
                };
                let src = r.source.as_str();
                m.runs
                    .with_label_values(&[&pipeline, src, &r.mode, status])
                    .inc();
                m.duration
                    .with_label_values(&[&pipeline, src])
                    .observe(r.seconds);
                for (change, n) in [
                    ("added", r.docs_added),
                    ("updated", r.docs_updated),
                    ("unchanged", r.docs_unchanged),
                    ("deleted", r.docs_deleted),
                ] {
                    m.documents
                        .with_label_values(&[&pipeline, src, change])
                        .inc_by(n);
                }
                m.dead_letters
                    .with_label_values(&[&pipeline, src])
                    .inc_by(r.dead_letter_count);
                if status == "ok" {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0);
                    m.last_success.with_label_values(&[&pipeline, src]).set(now);
                }
                m.refresh_index_counts(&pipeline, &state);
            }
            ProgressEvent::SourceStarted { .. } | ProgressEvent::PageCommitted { .. } => {}
        }
    }
}
