//! The `gitlab` source type for the registry (see `sluice_core::registry`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sluice_core::{CredentialNeeds, SettingsError, Source, SourceContext, SourceFactory};

use crate::{GitlabSettings, GitlabSource};

/// GitLab issues, merge requests, wiki pages and repository files.
pub struct GitlabSourceType;

impl SourceFactory for GitlabSourceType {
    fn type_name(&self) -> &'static str {
        "gitlab"
    }

    fn settings_schema(&self) -> Value {
        sluice_core::settings_schema::<GitlabSettings>()
    }

    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        _base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>> {
        let s = GitlabSettings::parse(settings)?;
        let _ = s;
        Ok(CredentialNeeds::Exactly(vec!["token".into()]))
    }

    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
        let s = GitlabSettings::parse(ctx.settings).map_err(|e| SettingsError::join(&e))?;
        Ok(Box::new(GitlabSource::new(
            ctx.source_id,
            s,
            ctx.credentials,
        )?))
    }
}
