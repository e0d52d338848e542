//! The approximate part of the vector index: an HNSW graph over int8
//! vectors (usearch, a maintained single-header C++ library with Rust
//! bindings; its default SIMD kernels crate is left out, which cuts its cold
//! build from ~2.5 min to ~20 s on 2 cores), saved as one file per
//! generation and memory-mapped by every process that searches it, so its
//! pages are file-backed and shared, not anonymous memory.
//!
//! Quantisation is ours, not usearch's: its f32→i8 cast assumes components
//! near ±1, while a 384-dim unit vector's components sit near ±0.05 and
//! would keep ~3 bits. One scale per generation, calibrated on the data
//! (the 99.99th percentile of |x| maps to 127), keeps ~7 bits; inner-product
//! order is unchanged by the uniform scale, and the winners are rescored
//! with their fp32 vectors anyway.

use std::path::{Path, PathBuf};

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

/// Graph degree and beam widths: usearch's defaults are 16 / 128 / 64; a
/// wider search beam pays for recall under filters (measured in
/// `benches/ann`).
const CONNECTIVITY: usize = 16;
const EXPANSION_ADD: usize = 128;
const EXPANSION_SEARCH: usize = 128;

pub(crate) struct Ann {
    index: Index,
    pub generation: i64,
    /// Every key up to this one was considered when the graph was built.
    pub max_key: u64,
    pub scale: f32,
}

fn options(dim: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dim,
        metric: MetricKind::IP,
        quantization: ScalarKind::I8,
        connectivity: CONNECTIVITY,
        expansion_add: EXPANSION_ADD,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

pub(crate) fn graph_path(dir: &Path, generation: i64) -> PathBuf {
    dir.join(format!("ann-{generation}.usearch"))
}

pub(crate) fn keys_path(dir: &Path, generation: i64) -> PathBuf {
    dir.join(format!("ann-{generation}.keys"))
}

/// The scale that maps the 99.99th percentile of |component| to 127.
pub(crate) fn calibrate<'a>(vectors: impl Iterator<Item = &'a [f32]>) -> f32 {
    let mut abs: Vec<f32> = vectors
        .take(20_000)
        .flat_map(|v| v.iter().map(|x| x.abs()))
        .collect();
    if abs.is_empty() {
        return 127.0;
    }
    let at = ((abs.len() as f64) * 0.9999) as usize;
    let at = at.min(abs.len() - 1);
    let (_, q, _) = abs.select_nth_unstable_by(at, f32::total_cmp);
    if *q > 0.0 { 127.0 / *q } else { 127.0 }
}

pub(crate) fn quantize(v: &[f32], scale: f32) -> Vec<i8> {
    v.iter()
        .map(|x| (x * scale).round().clamp(-127.0, 127.0) as i8)
        .collect()
}

impl Ann {
    /// Memory-maps a saved generation.
    pub fn view(
        dir: &Path,
        dim: usize,
        generation: i64,
        max_key: u64,
        scale: f32,
    ) -> Result<Ann, String> {
        let index = Index::new(&options(dim)).map_err(|e| e.to_string())?;
        let path = graph_path(dir, generation);
        index
            .view(&path.to_string_lossy())
            .map_err(|e| format!("vector graph {}: {e}", path.display()))?;
        Ok(Ann {
            index,
            generation,
            max_key,
            scale,
        })
    }

    pub fn size(&self) -> usize {
        self.index.size()
    }

    /// Up to `k` keys nearest to `query` among those `keep` accepts, checked
    /// during the walk (not after it), best first by their int8 score.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Vec<u64>, String> {
        let q = quantize(query, self.scale);
        let found = self
            .index
            .filtered_search(&q, k, |key: u64| keep(key))
            .map_err(|e| e.to_string())?;
        Ok(found.keys)
    }

    /// The int8 score of one stored key (for the exact fallback under very
    /// selective filters), in the same units as `score_i8`.
    pub fn stored(&self, key: u64, buf: &mut [i8]) -> bool {
        matches!(self.index.get(key, buf), Ok(n) if n > 0)
    }
}

pub(crate) fn score_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| *x as i32 * *y as i32).sum()
}

/// Writes a new generation: the graph of `previous` (when given) without
/// `dead`, plus `added`; or, with no previous, a graph of `added` alone.
/// Adds run on `threads` threads. Returns the keys the new graph holds.
pub(crate) fn build(
    dir: &Path,
    dim: usize,
    generation: i64,
    scale: f32,
    previous: Option<(i64, &[u64])>,
    dead: &std::collections::HashSet<u64>,
    added: &[(u64, &[f32])],
    threads: usize,
) -> Result<Vec<u64>, String> {
    let index = Index::new(&options(dim)).map_err(|e| e.to_string())?;
    let mut keys: Vec<u64> = Vec::new();
    if let Some((prev, prev_keys)) = previous {
        index
            .load(&graph_path(dir, prev).to_string_lossy())
            .map_err(|e| e.to_string())?;
        for k in prev_keys {
            if dead.contains(k) {
                index.remove(*k).map_err(|e| e.to_string())?;
            } else {
                keys.push(*k);
            }
        }
    }
    let threads = threads.max(1);
    index
        .reserve_capacity_and_threads(index.size() + added.len(), threads)
        .map_err(|e| e.to_string())?;
    let per = added.len().div_ceil(threads).max(1);
    let failed = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        for part in added.chunks(per) {
            let (index, failed) = (&index, &failed);
            s.spawn(move || {
                for (key, v) in part {
                    if let Err(e) = index.add(*key, &quantize(v, scale)) {
                        *failed.lock().unwrap() = Some(e.to_string());
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failed.into_inner().unwrap() {
        return Err(format!("adding to the vector graph: {e}"));
    }
    keys.extend(added.iter().map(|(k, _)| *k));
    let tmp = dir.join(format!("ann-{generation}.usearch.tmp"));
    index
        .save(&tmp.to_string_lossy())
        .map_err(|e| e.to_string())?;
    sync(&tmp)?;
    std::fs::rename(&tmp, graph_path(dir, generation)).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!("ann-{generation}.keys.tmp"));
    std::fs::write(
        &tmp,
        keys.iter()
            .flat_map(|k| k.to_le_bytes())
            .collect::<Vec<u8>>(),
    )
    .map_err(|e| e.to_string())?;
    sync(&tmp)?;
    std::fs::rename(&tmp, keys_path(dir, generation)).map_err(|e| e.to_string())?;
    Ok(keys)
}

fn sync(path: &Path) -> Result<(), String> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn read_keys(dir: &Path, generation: i64) -> Result<Vec<u64>, String> {
    let path = keys_path(dir, generation);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect())
}

/// Removes the files of every generation but `keep` (a process that still
/// maps an old one keeps its pages until it moves on).
pub(crate) fn remove_other_generations(dir: &Path, keep: i64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("ann-") else {
            continue;
        };
        let generation = rest.split('.').next().and_then(|g| g.parse::<i64>().ok());
        if generation != Some(keep) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
