//! The `confluence` source type for the registry (see `sluice_core::registry`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sluice_core::{CredentialNeeds, SettingsError, Source, SourceContext, SourceFactory};

use crate::{ConfluenceSettings, ConfluenceSource};

/// Confluence Cloud and Server/Data Center pages, blog posts and attachments.
pub struct ConfluenceSourceType;

impl SourceFactory for ConfluenceSourceType {
    fn type_name(&self) -> &'static str {
        "confluence"
    }

    fn settings_schema(&self) -> Value {
        sluice_core::settings_schema::<ConfluenceSettings>()
    }

    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        _base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>> {
        let s = ConfluenceSettings::parse(settings)?;
        Ok(CredentialNeeds::Exactly(
            s.credential_names().iter().map(|n| n.to_string()).collect(),
        ))
    }

    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
        let s = ConfluenceSettings::parse(ctx.settings).map_err(|e| SettingsError::join(&e))?;
        Ok(Box::new(ConfluenceSource::new(
            ctx.source_id,
            s,
            ctx.credentials,
        )?))
    }
}
