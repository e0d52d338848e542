//! What the engine and the search API need from an embedding model.

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("{0}")]
    Setup(String),
    #[error("embedding failed: {0}")]
    Inference(String),
    #[error("tokenization failed: {0}")]
    Tokenize(String),
}

pub trait TextEmbedder: Send + Sync {
    /// Vector dimension.
    fn dim(&self) -> usize;
    /// Unit-length vectors, one per text, in input order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// Model tokens in `text` (no special tokens); used to size chunks.
    fn count_tokens(&self, text: &str) -> usize;
    /// Token limit per text, special tokens included.
    fn max_length(&self) -> usize;
    /// Which vector space the vectors live in, e.g. `all-MiniLM-L6-v2/int8`:
    /// vectors from different spaces must not be compared, so the engine
    /// re-embeds everything when a pipeline's space changes. Empty: not
    /// tracked (test embedders).
    fn space(&self) -> String {
        String::new()
    }
}
