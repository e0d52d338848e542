//! Sentence embeddings with ONNX Runtime (`ort`, loaded dynamically) and
//! `tokenizers`: mean pooling over the attention mask + L2 normalisation,
//! which is what sentence-transformers does for all-MiniLM-L6-v2.

mod onnx;
mod paths;

pub use onnx::{
    DeviceChoice, OnnxEmbedder, OnnxEmbedderConfig, Precision, ort_environment, physical_cores,
};
pub use paths::{default_model_dir, default_ort_library, sluice_home};

pub use sluice_core::embed::{EmbedError, TextEmbedder};

/// Cosine similarity of two vectors (dot product for unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
