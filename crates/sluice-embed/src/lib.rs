//! Sentence embeddings with ONNX Runtime (`ort`, loaded dynamically) and
//! `tokenizers`: mean pooling over the attention mask + L2 normalisation,
//! which is what sentence-transformers does for all-MiniLM-L6-v2.

mod onnx;
mod paths;

pub use onnx::{DeviceChoice, OnnxEmbedder, OnnxEmbedderConfig, ort_environment};
pub use paths::{default_model_dir, default_ort_library, sluice_home};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{0}")]
    Setup(String),
    #[error("embedding failed: {0}")]
    Inference(String),
    #[error("tokenization failed: {0}")]
    Tokenize(String),
}

/// What the engine needs from an embedding model.
pub trait TextEmbedder: Send + Sync {
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Unit-length vectors, one per text, in input order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Model tokens in `text` (no special tokens); used to size chunks.
    fn count_tokens(&self, text: &str) -> usize;
    /// Token limit per text, special tokens included.
    fn max_length(&self) -> usize;
}

/// Cosine similarity of two vectors (dot product for unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na * nb) }
}
