//! The `embedded` store type for the registry: the index under the data
//! directory (or `path`), written by syncs and searched by itself.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sluice_core::{OpenedStore, StoreContext, StoreFactory, StoreSearch};

use crate::{EmbeddedIndex, EmbeddedSearch};

#[derive(Deserialize)]
struct EmbeddedConfig {
    /// Index directory; `<data dir>/index` when absent.
    #[serde(default)]
    path: Option<String>,
}

pub struct EmbeddedStoreType;

impl StoreFactory for EmbeddedStoreType {
    fn type_name(&self) -> &'static str {
        "embedded"
    }

    fn check_env(&self, _config: &Value) -> Vec<(String, String)> {
        Vec::new()
    }

    fn open(&self, ctx: &StoreContext<'_>) -> Result<OpenedStore, String> {
        let cfg: EmbeddedConfig = serde_json::from_value(ctx.config.clone())
            .map_err(|e| format!("{}: {e}", ctx.place))?;
        let dir = match cfg.path {
            Some(p) => ctx.base_dir.join(p),
            None => ctx.data_dir.join("index"),
        };
        let index = Arc::new(EmbeddedIndex::open(&dir, ctx.writable).map_err(|e| e.to_string())?);
        if ctx.writable && ctx.dim != 0 && index.dim() != 0 && index.dim() != ctx.dim {
            return Err(format!(
                "the index at {} holds {}-dim vectors but the model makes {}-dim ones; use another data dir or re-index from scratch",
                dir.display(),
                index.dim(),
                ctx.dim
            ));
        }
        let search = Arc::new(EmbeddedSearch::new(index.clone()));
        Ok(OpenedStore {
            sink: index.clone(),
            search: StoreSearch::Complete(search),
            handle: index,
        })
    }
}
