//! Human-readable output: progress bars, run summaries, hits, status.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_core::DeadLetter;
use sluice_core::search::SearchResponse;
use sluice_engine::{ProgressEvent, RunReport, SourceStatus};
use sluice_state::RunRecord;

/// A spinner per source showing documents and embeddings so far and their
/// rates; without a terminal, a structured `progress` log event at most
/// every `LOG_EVERY` (JSON with `--log-format json`).
#[derive(Clone)]
pub struct RunProgress {
    bar: Arc<Mutex<Option<ProgressBar>>>,
    enabled: bool,
    counts: Arc<Mutex<Counts>>,
}

const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

struct Counts {
    docs: u64,
    chunks: u64,
    started: std::time::Instant,
    logged: std::time::Instant,
}

impl Counts {
    fn new() -> Counts {
        let now = std::time::Instant::now();
        Counts {
            docs: 0,
            chunks: 0,
            started: now,
            logged: now,
        }
    }

    /// (docs/s, chunks/s) since the source started.
    fn rates(&self) -> (f64, f64) {
        let s = self.started.elapsed().as_secs_f64().max(1e-3);
        (self.docs as f64 / s, self.chunks as f64 / s)
    }
}

impl RunProgress {
    pub fn new(enabled: bool) -> RunProgress {
        RunProgress {
            bar: Arc::new(Mutex::new(None)),
            enabled: enabled && std::io::stderr().is_terminal(),
            counts: Arc::new(Mutex::new(Counts::new())),
        }
    }

    pub fn event(&self, e: &ProgressEvent) {
        let Ok(mut bar) = self.bar.lock() else { return };
        match e {
            ProgressEvent::SourceStarted { source, mode } => {
                if let Ok(mut c) = self.counts.lock() {
                    *c = Counts::new();
                }
                if self.enabled {
                    let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    b.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:>12} {msg} [{elapsed}]")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    b.set_prefix(source.clone());
                    b.set_message(format!("{mode:?} sync starting"));
                    b.enable_steady_tick(std::time::Duration::from_millis(120));
                    *bar = Some(b);
                } else {
                    tracing::info!(source = %source, mode = ?mode, "sync started");
                }
            }
            ProgressEvent::PageCommitted {
                source,
                docs,
                chunks_embedded,
                expected_total,
            } => {
                if let Ok(mut c) = self.counts.lock() {
                    c.docs += docs;
                    c.chunks += chunks_embedded;
                    let (docs_per_s, chunks_per_s) = c.rates();
                    let total = expected_total.map(|t| t.max(c.docs));
                    if let Some(b) = bar.as_ref() {
                        if let Some(t) = total {
                            // The source said how many: a bar with an ETA.
                            if b.length().is_none() {
                                b.set_style(
                                    ProgressStyle::with_template("{spinner} {prefix:>12} [{bar:24}] {pos}/{len} docs, ETA {eta} · {msg} [{elapsed}]")
                                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                                );
                            }
                            b.set_length(t);
                            b.set_position(c.docs);
                        }
                        b.set_message(format!("{} docs read ({docs_per_s:.1}/s), {} chunks embedded ({chunks_per_s:.1}/s)", c.docs, c.chunks));
                    } else if c.logged.elapsed() >= LOG_EVERY {
                        c.logged = std::time::Instant::now();
                        match eta_seconds(c.docs, total, docs_per_s) {
                            Some(eta_s) => tracing::info!(
                                source = %source, docs = c.docs, expected_total = total.unwrap_or_default(), eta_s,
                                chunks_embedded = c.chunks, docs_per_s, chunks_per_s, "progress"
                            ),
                            None => {
                                tracing::info!(source = %source, docs = c.docs, chunks_embedded = c.chunks, docs_per_s, chunks_per_s, "progress")
                            }
                        }
                    }
                }
            }
            ProgressEvent::EmbedBatch { .. } => {}
            ProgressEvent::SourceFinished(r) => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                tracing::info!(source = %r.source, docs = r.docs_seen, embedded = r.chunks_embedded, seconds = r.seconds, "sync finished");
            }
        }
    }

    pub fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock() {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
    }
}

/// Seconds left at the rate so far, when the total is known.
fn eta_seconds(done: u64, total: Option<u64>, per_s: f64) -> Option<f64> {
    let total = total?;
    (per_s > 0.0).then(|| total.saturating_sub(done) as f64 / per_s)
}

pub fn print_report(r: &RunReport, data_dir: &Path) {
    println!(
        "pipeline {} ({:.1}s, data dir {})",
        r.pipeline,
        r.seconds,
        data_dir.display()
    );
    println!(
        "{:<14} {:<12} {:>6} {:>6} {:>6} {:>9} {:>7} {:>9} {:>6}  status",
        "source", "mode", "seen", "added", "upd", "unchanged", "deleted", "embedded", "dead"
    );
    for s in &r.sources {
        let status = match &s.status {
            SourceStatus::Ok => "ok".to_string(),
            SourceStatus::Failed(e) => format!("FAILED: {e}"),
        };
        println!(
            "{:<14} {:<12} {:>6} {:>6} {:>6} {:>9} {:>7} {:>9} {:>6}  {}",
            s.source,
            s.mode,
            s.docs_seen,
            s.docs_added,
            s.docs_updated,
            s.docs_unchanged,
            s.docs_deleted,
            s.chunks_embedded,
            s.dead_letter_count,
            status
        );
    }
    let dead: Vec<&DeadLetter> = r.sources.iter().flat_map(|s| &s.dead_letters).collect();
    if !dead.is_empty() {
        println!(
            "\n{} record(s) could not be indexed (kept in the dead-letter record; the rest was indexed):",
            r.dead_letters()
        );
        for d in dead {
            println!(
                "  {}: {}{}",
                d.location,
                d.error,
                d.external_id
                    .as_ref()
                    .map(|e| format!(" (id {e})"))
                    .unwrap_or_default()
            );
        }
    }
    let partial: u64 = r.sources.iter().map(|s| s.docs_partial).sum();
    if partial > 0 {
        println!(
            "\n{partial} document(s) were indexed in part (markup past its nesting limit, text past a size or chunk cap); `sluice dead-letters list --kind partial` says which"
        );
    }
}

/// Turns `<mark>x</mark>` into terminal bold (or brackets when not a TTY).
fn render_snippet(s: &str) -> String {
    let tty = std::io::stdout().is_terminal();
    let (on, off) = if tty {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("[", "]")
    };
    s.replace("<mark>", on)
        .replace("</mark>", off)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
        .replace('\n', " ")
}

/// One linked document, as `sluice search --related` and `sluice related` show it.
pub fn related_line(r: &sluice_core::search::Related) -> String {
    let arrow = if r.direction == "out" { "→" } else { "←" };
    let mut line = format!("{arrow} {} {}  [{} {}]", r.edge, r.title, r.source, r.kind);
    if let Some(u) = &r.url {
        line.push_str(&format!("  {u}"));
    }
    line
}

pub fn print_hits(
    r: &SearchResponse,
    related: Option<&std::collections::HashMap<uuid::Uuid, Vec<sluice_core::search::Related>>>,
) {
    if r.hits.is_empty() {
        println!("no results ({:?}, {:.1} ms)", r.mode, r.took_ms);
        return;
    }
    for (i, h) in r.hits.iter().enumerate() {
        let ranks = match (h.keyword_rank, h.vector_rank) {
            (Some(k), Some(v)) => format!("kw #{k}, vec #{v}"),
            (Some(k), None) => format!("kw #{k}"),
            (None, Some(v)) => format!("vec #{v}"),
            _ => String::new(),
        };
        println!(
            "{:>2}. {}  [{} {}]  score {:.4} ({ranks})",
            i + 1,
            h.title,
            h.source,
            h.kind,
            h.score
        );
        if let Some(u) = &h.url {
            println!("    {u}");
        }
        println!("    {}", render_snippet(&h.snippet));
        for rel in related.and_then(|m| m.get(&h.doc_id)).into_iter().flatten() {
            println!("    {}", related_line(rel));
        }
    }
    println!("{} hits ({:?}, {:.1} ms)", r.hits.len(), r.mode, r.took_ms);
}

pub fn print_status(
    name: &str,
    counts: &[(String, u64, u64)],
    runs: &[RunRecord],
    dead: &[sluice_state::DeadLetterEntry],
    failed: usize,
    partial: usize,
) {
    println!("pipeline {name}");
    println!("{:<14} {:>9} {:>8}", "source", "documents", "chunks");
    for (s, d, c) in counts {
        println!("{s:<14} {d:>9} {c:>8}");
    }
    if !runs.is_empty() {
        println!("\nlast runs:");
        for r in runs {
            println!(
                "  {:<14} {} {:<11} {:<6} +{} ~{} ={} -{} embedded {} dead {}{}",
                r.source,
                r.finished_at,
                r.mode,
                r.status,
                r.docs_added,
                r.docs_updated,
                r.docs_unchanged,
                r.docs_deleted,
                r.chunks_embedded,
                r.dead_letters,
                r.error
                    .as_ref()
                    .map(|e| format!("\n      error: {e}"))
                    .unwrap_or_default()
            );
        }
    }
    if !dead.is_empty() {
        println!(
            "\ndead letters: {failed} failed, {partial} indexed in part (`sluice dead-letters list`); most recent:"
        );
        for e in dead {
            let d = &e.letter;
            let kind = if e.kind == "partial" {
                "indexed in part"
            } else {
                "failed"
            };
            println!("  {kind} [{}] {}: {}", d.source, d.location, d.error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::eta_seconds;

    #[test]
    fn eta_is_what_is_left_at_the_rate_so_far() {
        assert_eq!(eta_seconds(250, Some(1_000), 50.0), Some(15.0));
        assert_eq!(
            eta_seconds(1_200, Some(1_000), 50.0),
            Some(0.0),
            "a source that lists more than it said is done, not negative"
        );
        assert_eq!(eta_seconds(10, None, 50.0), None, "no total, no ETA");
        assert_eq!(eta_seconds(0, Some(10), 0.0), None, "no rate yet, no ETA");
    }
}
