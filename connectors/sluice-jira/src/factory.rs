//! The `jira` source type for the registry (see `sluice_core::registry`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sluice_core::{CredentialNeeds, SettingsError, Source, SourceContext, SourceFactory};

use crate::{JiraSettings, JiraSource};

/// Jira Cloud and Server/Data Center issues.
pub struct JiraSourceType;

impl SourceFactory for JiraSourceType {
    fn type_name(&self) -> &'static str {
        "jira"
    }

    fn settings_schema(&self) -> Value {
        sluice_core::settings_schema::<JiraSettings>()
    }

    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        _base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>> {
        let s = JiraSettings::parse(settings)?;
        Ok(CredentialNeeds::Exactly(
            s.credential_names().iter().map(|n| n.to_string()).collect(),
        ))
    }

    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
        let s = JiraSettings::parse(ctx.settings).map_err(|e| SettingsError::join(&e))?;
        Ok(Box::new(JiraSource::new(
            ctx.source_id,
            s,
            ctx.credentials,
        )?))
    }
}
