use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::{EmbedError, TextEmbedder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda,
}

/// Which weights run: see `scripts/optimize_minilm_onnx.py`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// `model-int8.onnx`: transformer fusions, then dynamic int8 quantisation.
    Int8,
    /// `model.onnx`: the exported fp32 graph.
    Fp32,
}

impl Precision {
    pub fn model_file(self) -> &'static str {
        match self {
            Precision::Int8 => "model-int8.onnx",
            Precision::Fp32 => "model.onnx",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Precision::Int8 => "int8",
            Precision::Fp32 => "fp32",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OnnxEmbedderConfig {
    /// Directory with `model.onnx` (and `model-int8.onnx`) and `tokenizer.json`.
    pub model_dir: PathBuf,
    /// The `libonnxruntime.so` to load.
    pub ort_library: PathBuf,
    pub device: DeviceChoice,
    pub precision: Precision,
    /// Most texts per session run. A run also holds at most
    /// `batch_size * max_length` tokens (padding included), so short texts
    /// go in bigger batches and long ones in smaller.
    pub batch_size: usize,
    /// Intra-op threads; `None` = physical cores (hyper-threads share one
    /// core's vector units, and ONNX Runtime's threads spin while waiting).
    pub threads: Option<usize>,
    /// Token limit per text, special tokens included.
    pub max_length: usize,
}

impl OnnxEmbedderConfig {
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        OnnxEmbedderConfig {
            model_dir: model_dir.into(),
            ort_library: crate::default_ort_library(),
            device: DeviceChoice::Auto,
            precision: Precision::Int8,
            batch_size: 32,
            threads: None,
            max_length: 256,
        }
    }
}

pub struct OnnxEmbedder {
    /// Batches: one session with every intra-op thread.
    session: Mutex<Session>,
    /// Single texts (search queries): one single-threaded session per
    /// physical core, made on first use, without spinning, so concurrent
    /// searches embed in parallel instead of queueing behind one session
    /// whose threads spin between runs. CPU only.
    query_sessions: OnceLock<Result<Vec<Mutex<Session>>, String>>,
    query_next: std::sync::atomic::AtomicUsize,
    query_pool: usize,
    model_path: PathBuf,
    env: &'static ort::environment::Environment,
    tokenizer: Tokenizer,
    dim: usize,
    batch_size: usize,
    max_length: usize,
    sep_id: u32,
    provider: &'static str,
    space: String,
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading `lib` on first use
/// (benchmarks build bare sessions on it).
pub fn ort_environment(lib: &Path) -> Result<&'static ort::environment::Environment, EmbedError> {
    environment(lib)
}

fn environment(lib: &Path) -> Result<&'static ort::environment::Environment, EmbedError> {
    ENVIRONMENT
        .get_or_init(|| {
            if !lib.exists() {
                return Err(format!(
                    "ONNX Runtime library not found at {}; run `scripts/setup.sh` (it installs it \
                     from PyPI's onnxruntime wheel) or set ORT_DYLIB_PATH",
                    lib.display()
                ));
            }
            ort::init_from(lib)
                .map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", lib.display()))?
                .with_name("sluice")
                .build()
                .map_err(|e| format!("cannot create the ONNX Runtime environment: {e}"))
        })
        .as_ref()
        .map_err(|e| EmbedError::Setup(e.clone()))
}

impl OnnxEmbedder {
    pub fn load(cfg: &OnnxEmbedderConfig) -> Result<OnnxEmbedder, EmbedError> {
        let model = cfg.model_dir.join(cfg.precision.model_file());
        let tok = cfg.model_dir.join("tokenizer.json");
        for f in [&model, &tok] {
            if !f.exists() {
                return Err(EmbedError::Setup(format!(
                    "{} is missing; run `scripts/setup.sh` to install the embedding model",
                    f.display()
                )));
            }
        }
        let env = environment(&cfg.ort_library)?;
        let mut tokenizer = Tokenizer::from_file(&tok)
            .map_err(|e| EmbedError::Setup(format!("cannot read {}: {e}", tok.display())))?;
        // The shipped tokenizer pads/truncates to 128; we truncate ourselves
        // (sentence-transformers uses 256) and pad per batch.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| EmbedError::Setup(format!("tokenizer: {e}")))?;
        let sep_id = tokenizer.token_to_id("[SEP]").unwrap_or(102);

        let threads = cfg.threads.unwrap_or_else(physical_cores);
        let setup = |e: &dyn std::fmt::Display| EmbedError::Setup(format!("ONNX session: {e}"));
        let mut builder = Session::builder(env).map_err(|e| setup(&e))?;
        builder = builder
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| setup(&e))?
            .with_intra_threads(threads)
            .map_err(|e| setup(&e))?;
        let provider = match cfg.device {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Auto | DeviceChoice::Cuda => register_cuda(&mut builder, cfg.device)?,
        };
        let session = builder.commit_from_file(&model).map_err(|e| setup(&e))?;
        let mut embedder = OnnxEmbedder {
            session: Mutex::new(session),
            query_sessions: OnceLock::new(),
            query_next: std::sync::atomic::AtomicUsize::new(0),
            query_pool: if provider == "cpu" {
                physical_cores()
            } else {
                0
            },
            model_path: model.clone(),
            env,
            tokenizer,
            dim: 0,
            batch_size: cfg.batch_size.max(1),
            max_length: cfg.max_length.max(8),
            sep_id,
            provider,
            space: format!(
                "{}/{}",
                cfg.model_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                cfg.precision.name()
            ),
        };
        // Two texts: a batch, so the query sessions stay unmade until a query comes.
        embedder.dim = embedder.embed(&["dimension probe", "probe"])?[0].len();
        tracing::info!(model = %model.display(), provider, threads, dim = embedder.dim, "embedding model loaded");
        Ok(embedder)
    }

    /// A free query session, else the next one in turn; `None` without a pool.
    fn query_session(&self) -> Result<Option<std::sync::MutexGuard<'_, Session>>, EmbedError> {
        if self.query_pool == 0 {
            return Ok(None);
        }
        let pool = self
            .query_sessions
            .get_or_init(|| {
                (0..self.query_pool)
                    .map(|_| {
                        let fail = |e: &dyn std::fmt::Display| format!("ONNX query session: {e}");
                        let b = Session::builder(self.env).map_err(|e| fail(&e))?;
                        let b = b
                            .with_optimization_level(GraphOptimizationLevel::Level3)
                            .map_err(|e| fail(&e))?;
                        let b = b.with_intra_threads(1).map_err(|e| fail(&e))?;
                        let mut b = b.with_intra_op_spinning(false).map_err(|e| fail(&e))?;
                        b.commit_from_file(&self.model_path)
                            .map(Mutex::new)
                            .map_err(|e| fail(&e))
                    })
                    .collect()
            })
            .as_ref()
            .map_err(|e| EmbedError::Setup(e.clone()))?;
        let start = self
            .query_next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % pool.len();
        for i in 0..pool.len() {
            if let Ok(guard) = pool[(start + i) % pool.len()].try_lock() {
                return Ok(Some(guard));
            }
        }
        pool[start]
            .lock()
            .map(Some)
            .map_err(|_| EmbedError::Inference("session lock poisoned".into()))
    }

    /// `cpu` or `cuda`: the execution provider in use.
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    fn encode(&self, text: &str) -> Result<(Vec<i64>, Vec<i64>), EmbedError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Tokenize(e.to_string()))?;
        let mut ids: Vec<i64> = enc.get_ids().iter().map(|&i| i as i64).collect();
        let mut types: Vec<i64> = enc.get_type_ids().iter().map(|&i| i as i64).collect();
        if ids.len() > self.max_length {
            // Same as HF truncation: keep the head, end with [SEP].
            ids.truncate(self.max_length);
            types.truncate(self.max_length);
            ids[self.max_length - 1] = self.sep_id as i64;
        }
        Ok((ids, types))
    }

    fn run_batch(&self, encoded: &[&(Vec<i64>, Vec<i64>)]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let seq = encoded
            .iter()
            .map(|(ids, _)| ids.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let n = encoded.len();
        let mut ids = vec![0i64; n * seq];
        let mut mask = vec![0i64; n * seq];
        let mut types = vec![0i64; n * seq];
        for (row, (tok, ty)) in encoded.iter().enumerate() {
            let base = row * seq;
            ids[base..base + tok.len()].copy_from_slice(tok);
            types[base..base + ty.len()].copy_from_slice(ty);
            mask[base..base + tok.len()].fill(1);
        }
        let shape = [n as i64, seq as i64];
        let infer = |e: &dyn std::fmt::Display| EmbedError::Inference(e.to_string());
        let t_ids = Tensor::from_array((shape, ids)).map_err(|e| infer(&e))?;
        let t_mask = Tensor::from_array((shape, mask.clone())).map_err(|e| infer(&e))?;
        let t_types = Tensor::from_array((shape, types)).map_err(|e| infer(&e))?;
        let mut session = match if n == 1 { self.query_session()? } else { None } {
            Some(s) => s,
            None => self
                .session
                .lock()
                .map_err(|_| EmbedError::Inference("session lock poisoned".into()))?,
        };
        let outputs = session
            .run(ort::inputs!["input_ids" => t_ids, "attention_mask" => t_mask, "token_type_ids" => t_types])
            .map_err(|e| infer(&e))?;
        let (out_shape, hidden) = outputs["last_hidden_state"]
            .try_extract_tensor::<f32>()
            .map_err(|e| infer(&e))?;
        let dim = *out_shape
            .last()
            .ok_or_else(|| EmbedError::Inference("output has no dims".into()))?
            as usize;
        Ok(mean_pool_normalize(hidden, &mask, n, seq, dim))
    }
}

/// The CPUs this process may use (affinity, cgroup quota) divided by the
/// hardware threads per core, at least 1.
pub fn physical_cores() -> usize {
    let available = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let per_core =
        std::fs::read_to_string("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list")
            .map(|s| siblings(&s))
            .unwrap_or(1);
    (available / per_core.max(1)).max(1)
}

/// How many CPUs a sysfs list names: `0`, `0,64`, `0-1`.
fn siblings(list: &str) -> usize {
    list.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 1,
            },
            None => 1,
        })
        .sum::<usize>()
        .max(1)
}

/// Ends of consecutive batches over texts sorted by ascending token count:
/// each batch holds at most `max_rows` texts and at most `max_tokens`
/// tokens once padded to its longest (last) text. A text longer than the
/// budget still gets a batch of its own.
pub(crate) fn token_budget_batches(
    sorted_lengths: &[usize],
    max_rows: usize,
    max_tokens: usize,
) -> Vec<usize> {
    let max_rows = max_rows.max(1);
    let mut ends = Vec::new();
    let mut start = 0;
    for (i, &len) in sorted_lengths.iter().enumerate() {
        let rows = i - start + 1;
        if rows > 1 && (rows > max_rows || rows * len.max(1) > max_tokens) {
            ends.push(i);
            start = i;
        }
    }
    if start < sorted_lengths.len() {
        ends.push(sorted_lengths.len());
    }
    ends
}

/// Mean over unmasked tokens, then L2 normalisation.
pub(crate) fn mean_pool_normalize(
    hidden: &[f32],
    mask: &[i64],
    n: usize,
    seq: usize,
    dim: usize,
) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(n);
    for row in 0..n {
        let mut v = vec![0f32; dim];
        let mut count = 0f32;
        for t in 0..seq {
            if mask[row * seq + t] == 0 {
                continue;
            }
            count += 1.0;
            let base = (row * seq + t) * dim;
            for (acc, x) in v.iter_mut().zip(&hidden[base..base + dim]) {
                *acc += x;
            }
        }
        let count = count.max(1e-9);
        v.iter_mut().for_each(|x| *x /= count);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        v.iter_mut().for_each(|x| *x /= norm);
        out.push(v);
    }
    out
}

#[cfg(feature = "cuda")]
fn register_cuda(
    builder: &mut ort::session::builder::SessionBuilder,
    device: DeviceChoice,
) -> Result<&'static str, EmbedError> {
    use ort::ep::ExecutionProvider;
    let cuda = ort::ep::CUDA::default();
    match cuda.register(builder) {
        Ok(()) => Ok("cuda"),
        Err(e) if device == DeviceChoice::Auto => {
            tracing::warn!(error = %e, "CUDA execution provider unavailable; using CPU");
            Ok("cpu")
        }
        Err(e) => Err(EmbedError::Setup(format!(
            "embedding.device is `cuda` but the CUDA execution provider failed: {e}; \
             install the GPU build of ONNX Runtime (PyPI onnxruntime-gpu) or set device: cpu"
        ))),
    }
}

#[cfg(not(feature = "cuda"))]
fn register_cuda(
    _builder: &mut ort::session::builder::SessionBuilder,
    device: DeviceChoice,
) -> Result<&'static str, EmbedError> {
    match device {
        DeviceChoice::Cuda => Err(EmbedError::Setup(
            "embedding.device is `cuda` but this binary was built without the `cuda` feature; \
             rebuild with `--features cuda` or set device: cpu"
                .into(),
        )),
        _ => Ok("cpu"),
    }
}

impl TextEmbedder for OnnxEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        // Tokenise first, sort by token count so each batch pads little,
        // run batches by token budget, then restore the input order.
        let encoded: Vec<(Vec<i64>, Vec<i64>)> = texts
            .iter()
            .map(|t| self.encode(t))
            .collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encoded[i].0.len());
        let lengths: Vec<usize> = order.iter().map(|&i| encoded[i].0.len()).collect();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        let mut start = 0;
        for end in
            token_budget_batches(&lengths, self.batch_size, self.batch_size * self.max_length)
        {
            let group = &order[start..end];
            let batch: Vec<&(Vec<i64>, Vec<i64>)> = group.iter().map(|&i| &encoded[i]).collect();
            for (i, v) in group.iter().zip(self.run_batch(&batch)?) {
                out[*i] = v;
            }
            start = end;
        }
        Ok(out)
    }

    fn space(&self) -> String {
        self.space.clone()
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.len())
            .unwrap_or_else(|_| text.split_whitespace().count())
    }

    fn max_length(&self) -> usize {
        self.max_length
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_lists_count_hardware_threads() {
        assert_eq!(siblings("0\n"), 1);
        assert_eq!(siblings("0,64"), 2);
        assert_eq!(siblings("0-1"), 2);
        assert_eq!(siblings("0-3,8-11"), 8);
        assert_eq!(siblings("garbage"), 1);
        assert_eq!(siblings(""), 1);
        assert!(physical_cores() >= 1);
    }

    #[test]
    fn batches_keep_to_the_row_and_token_budgets() {
        // 4 short texts fit one batch; the budget of 40 tokens splits the long ones.
        assert_eq!(
            token_budget_batches(&[5, 5, 6, 8, 20, 20, 30], 8, 40),
            vec![4, 6, 7]
        );
        // The row cap applies when tokens allow more.
        assert_eq!(token_budget_batches(&[1; 5], 2, 1000), vec![2, 4, 5]);
        // A text over the budget runs alone; nothing is dropped.
        assert_eq!(token_budget_batches(&[3, 500], 4, 10), vec![1, 2]);
        assert!(token_budget_batches(&[], 4, 10).is_empty());
    }

    #[test]
    fn pooling_ignores_padding_and_normalizes() {
        // 1 text, seq 3 (last is padding), dim 2.
        let hidden = [1.0, 0.0, 3.0, 0.0, 100.0, 100.0];
        let mask = [1, 1, 0];
        let v = mean_pool_normalize(&hidden, &mask, 1, 3, 2);
        assert_eq!(v[0], vec![1.0, 0.0]);
    }
}
