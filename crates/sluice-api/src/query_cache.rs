//! Query vectors by query text: a repeated query (a user paging, a
//! dashboard refreshing, the same question asked across a team) skips the
//! model, which is most of a hybrid request's time. A bounded LRU (the `lru`
//! crate); a long query is not kept, so the memory stays bounded by
//! `ENTRIES * (MAX_KEY_BYTES + the vector)`.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;
use sluice_core::{EmbedError, TextEmbedder};

/// Entries kept: ~5 MB with 384-dimension vectors and 1 KB queries.
pub const ENTRIES: usize = 2048;
/// Longer queries are embedded every time.
const MAX_KEY_BYTES: usize = 1024;

pub struct QueryCache {
    inner: Arc<dyn TextEmbedder>,
    cache: Mutex<LruCache<String, Vec<f32>>>,
}

impl QueryCache {
    pub fn new(inner: Arc<dyn TextEmbedder>, entries: usize) -> QueryCache {
        QueryCache {
            inner,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(entries.max(1)).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

impl TextEmbedder for QueryCache {
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let [query] = texts else {
            return self.inner.embed(texts);
        };
        if query.len() > MAX_KEY_BYTES {
            return self.inner.embed(texts);
        }
        if let Some(v) = self
            .cache
            .lock()
            .ok()
            .and_then(|mut c| c.get(*query).cloned())
        {
            return Ok(vec![v]);
        }
        // Embedded outside the lock: concurrent misses run in parallel.
        let vectors = self.inner.embed(texts)?;
        if let (Some(v), Ok(mut c)) = (vectors.first(), self.cache.lock()) {
            c.put(query.to_string(), v.clone());
        }
        Ok(vectors)
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }

    fn max_length(&self) -> usize {
        self.inner.max_length()
    }

    fn space(&self) -> String {
        self.inner.space()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts the texts it embeds.
    struct Counting(AtomicUsize);

    impl TextEmbedder for Counting {
        fn dim(&self) -> usize {
            2
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.len()
        }
        fn max_length(&self) -> usize {
            8
        }
    }

    #[test]
    fn a_repeated_query_is_embedded_once_and_the_cache_stays_bounded() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = QueryCache::new(inner.clone(), 2);
        assert_eq!(cache.embed(&["kafka lag"]).unwrap(), vec![vec![9.0, 1.0]]);
        assert_eq!(cache.embed(&["kafka lag"]).unwrap(), vec![vec![9.0, 1.0]]);
        assert_eq!(
            inner.0.load(Ordering::SeqCst),
            1,
            "the second came from the cache"
        );
        cache.embed(&["b"]).unwrap();
        cache.embed(&["c"]).unwrap(); // evicts "kafka lag", the least recent
        cache.embed(&["kafka lag"]).unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 4);
        // Batches and long queries pass through.
        cache.embed(&["x", "y"]).unwrap();
        let long = "q".repeat(MAX_KEY_BYTES + 1);
        cache.embed(&[long.as_str()]).unwrap();
        cache.embed(&[long.as_str()]).unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 8);
    }
}
