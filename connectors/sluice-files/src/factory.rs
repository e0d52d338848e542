//! The `files` source type for the registry (see `sluice_core::registry`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sluice_core::{CredentialNeeds, SettingsError, Source, SourceContext, SourceFactory};

use crate::{FilesSettings, FilesSource};

/// JSONL, CSV, Parquet, Markdown and HTML files, local or in an object store.
pub struct FilesSourceType;

impl SourceFactory for FilesSourceType {
    fn type_name(&self) -> &'static str {
        "files"
    }

    fn settings_schema(&self) -> Value {
        sluice_core::settings_schema::<FilesSettings>()
    }

    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>> {
        let s = FilesSettings::parse(settings)?;
        if let Some(p) = &s.path {
            let path = base_dir.join(p);
            if !path.exists() {
                return Err(vec![SettingsError::new(
                    "path",
                    format!("`{p}` does not exist (looked for {})", path.display()),
                    Some("a file or directory, relative to the pipeline file"),
                )]);
            }
        }
        // Object-store credentials come from the environment (AWS_* …).
        Ok(CredentialNeeds::Unchecked)
    }

    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
        let s = FilesSettings::parse(ctx.settings).map_err(|e| SettingsError::join(&e))?;
        Ok(Box::new(FilesSource::new(ctx.source_id, s, ctx.base_dir)?))
    }
}
