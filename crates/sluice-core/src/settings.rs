//! What every connector does with its `settings:` map and its checkpoint:
//! parse with the failing path named, and read its own JSON cursor.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::source::SourceError;

/// A settings problem and the path inside `settings` it concerns (empty
/// for the map as a whole); `sluice validate` adds file:line:column.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsError {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl SettingsError {
    /// Every problem in one line, for callers that report a single message.
    pub fn join(errs: &[SettingsError]) -> String {
        errs.iter()
            .map(|e| {
                if e.path.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.path, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn new(path: &str, message: impl Into<String>, hint: Option<&str>) -> SettingsError {
        SettingsError {
            path: path.into(),
            message: message.into(),
            hint: hint.map(String::from),
        }
    }
}

/// The JSON Schema of a settings struct (`SourceFactory::settings_schema`).
pub fn settings_schema<T: schemars::JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Bool(true))
}

/// Deserializes a connector's `settings:` (its structure errors name the path).
pub fn parse_settings<T: DeserializeOwned>(
    settings: &BTreeMap<String, Value>,
) -> Result<T, Vec<SettingsError>> {
    if settings.contains_key("permissions") {
        // Fail closed: there is no switch that turns permissions off.
        return Err(vec![SettingsError::new(
            "permissions",
            "`permissions` was removed: a connector always applies the system's permissions",
            Some(
                "delete the line; to publish this source to every caller, set `visibility: public` on the source (next to `type:`)",
            ),
        )]);
    }
    let value = Value::Object(settings.clone().into_iter().collect());
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        vec![SettingsError {
            path: if path == "." { String::new() } else { path },
            message: e.inner().to_string(),
            hint: None,
        }]
    })
}

/// A connector's JSON checkpoint (the default when there is none yet). An
/// unreadable one stops the source with the way out, instead of silently
/// re-listing from scratch.
pub fn parse_cursor<T: DeserializeOwned + Default>(
    source_id: &str,
    cursor: Option<&str>,
) -> Result<T, SourceError> {
    match cursor {
        None => Ok(T::default()),
        Some(c) => serde_json::from_str(c).map_err(|e| SourceError {
            source_id: source_id.to_string(),
            location: "checkpoint".into(),
            message: format!(
                "the stored checkpoint is unreadable ({e}); run `sluice run --full` to rebuild it"
            ),
            transient: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct S {
        #[allow(dead_code)]
        a: Option<u32>,
    }

    #[test]
    fn errors_name_the_path_and_cursors_the_fix() {
        let m: BTreeMap<String, Value> = serde_json::from_str(r#"{"a": "x"}"#).unwrap();
        let e = parse_settings::<S>(&m).unwrap_err();
        assert_eq!(e[0].path, "a");
        let m: BTreeMap<String, Value> = serde_json::from_str(r#"{"b": 1}"#).unwrap();
        assert!(
            parse_settings::<S>(&m).unwrap_err()[0]
                .message
                .contains("unknown field `b`")
        );
        let e = parse_cursor::<BTreeMap<String, u32>>("src", Some("{oops")).unwrap_err();
        assert!(e.message.contains("--full") && e.location == "checkpoint");
        assert!(
            parse_cursor::<BTreeMap<String, u32>>("src", None)
                .unwrap()
                .is_empty()
        );
    }
}
