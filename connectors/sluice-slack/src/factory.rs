//! The `slack` source type for the registry (see `sluice_core::registry`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use sluice_core::{CredentialNeeds, SettingsError, Source, SourceContext, SourceFactory};

use crate::{SlackExportSettings, SlackExportSource, SlackSettings, SlackSource};

/// Slack channels and threads through the Web API.
pub struct SlackSourceType;

impl SourceFactory for SlackSourceType {
    fn type_name(&self) -> &'static str {
        "slack"
    }

    fn settings_schema(&self) -> Value {
        sluice_core::settings_schema::<SlackSettings>()
    }

    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        _base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>> {
        let s = SlackSettings::parse(settings)?;
        let _ = s;
        Ok(CredentialNeeds::Exactly(vec!["token".into()]))
    }

    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
        let s = SlackSettings::parse(ctx.settings).map_err(|e| SettingsError::join(&e))?;
        Ok(Box::new(SlackSource::new(
            ctx.source_id,
            s,
            ctx.credentials,
        )?))
    }
}

/// A Slack workspace export (zip or unpacked directory).
pub struct SlackExportSourceType;

impl SourceFactory for SlackExportSourceType {
    fn type_name(&self) -> &'static str {
        "slack_export"
    }

    fn settings_schema(&self) -> Value {
        sluice_core::settings_schema::<SlackExportSettings>()
    }

    fn check(
        &self,
        settings: &BTreeMap<String, Value>,
        base_dir: &Path,
    ) -> Result<CredentialNeeds, Vec<SettingsError>> {
        let s = SlackExportSettings::parse(settings)?;
        let path = base_dir.join(&s.path);
        if !path.exists() {
            return Err(vec![SettingsError::new(
                "path",
                format!("{} does not exist", path.display()),
                Some("the export's .zip or unpacked directory, relative to the pipeline file"),
            )]);
        }
        Ok(CredentialNeeds::Exactly(Vec::new()))
    }

    fn build(&self, ctx: &SourceContext<'_>) -> Result<Box<dyn Source>, String> {
        let s = SlackExportSettings::parse(ctx.settings).map_err(|e| SettingsError::join(&e))?;
        Ok(Box::new(SlackExportSource::new(
            ctx.source_id,
            s,
            ctx.base_dir,
        )))
    }
}
