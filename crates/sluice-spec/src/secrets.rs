//! Credentials are written as `${ENV_VAR}` references and resolved at run
//! time. The resolved value never reaches `Debug`, logs or diagnostics.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Client properties (librdkafka's) whose value is a secret: they must be
/// a `${ENV}` reference, never written in the pipeline file.
pub fn is_secret_property(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.ends_with(".key.pem")
        || k == "ssl.keystore.key"
        || k == "sasl.oauthbearer.config"
        || k.ends_with("token")
}

/// A reference to a secret held in an environment variable.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRef {
    var: String,
}

impl SecretRef {
    pub fn parse(raw: &str) -> Result<SecretRef, String> {
        let re = regex::Regex::new(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$").expect("static regex");
        match re.captures(raw.trim()) {
            Some(c) => Ok(SecretRef {
                var: c[1].to_string(),
            }),
            None => Err(
                "credentials must be environment references like `${CONFLUENCE_TOKEN}`; \
                 literal secrets are not accepted in pipeline files"
                    .to_string(),
            ),
        }
    }

    pub fn var(&self) -> &str {
        &self.var
    }

    /// The secret value, if the variable is set and non-empty.
    pub fn resolve(&self) -> Result<Secret, String> {
        match std::env::var(&self.var) {
            Ok(v) if !v.is_empty() => Ok(Secret(v)),
            _ => Err(format!(
                "environment variable `{}` is not set; export it before running",
                self.var
            )),
        }
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${{{}}}", self.var)
    }
}

impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("${{{}}}", self.var))
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        SecretRef::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SecretRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$",
            "description": "An environment variable reference such as ${CONFLUENCE_TOKEN}."
        })
    }
}

/// A resolved secret. Only `expose` reveals it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

fn env_ref_re() -> regex::Regex {
    regex::Regex::new(r"\$\{([^}]*)\}").expect("static regex")
}

/// Checks the `${VAR}` references inside a setting value (their syntax
/// only; whether they are set is checked when the value is expanded).
pub fn check_env_refs(value: &str) -> Result<(), String> {
    let name = regex::Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*$").expect("static regex");
    for c in env_ref_re().captures_iter(value) {
        if !name.is_match(&c[1]) {
            return Err(format!(
                "`${{{}}}` is not a valid environment reference; use `${{NAME}}` with letters, digits and `_`",
                &c[1]
            ));
        }
    }
    if env_ref_re().replace_all(value, "").contains("${") {
        return Err("an unclosed `${` reference; write `${NAME}`".into());
    }
    Ok(())
}

/// Replaces every `${VAR}` in a setting value with the variable's value.
pub fn expand_env_refs(value: &str) -> Result<String, String> {
    check_env_refs(value)?;
    let mut missing = None;
    let out = env_ref_re().replace_all(value, |c: &regex::Captures<'_>| {
        match std::env::var(&c[1]) {
            Ok(v) => v,
            Err(_) => {
                missing.get_or_insert_with(|| c[1].to_string());
                String::new()
            }
        }
    });
    match missing {
        Some(var) => Err(format!(
            "environment variable `{var}` is not set; export it before running"
        )),
        None => Ok(out.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_env_references_are_accepted() {
        assert_eq!(SecretRef::parse("${TOKEN_1}").unwrap().var(), "TOKEN_1");
        assert!(
            SecretRef::parse("hunter2")
                .unwrap_err()
                .contains("literal secrets")
        );
        assert!(SecretRef::parse("${1BAD}").is_err());
    }

    #[test]
    fn debug_never_shows_the_value() {
        // SAFETY: single-threaded test touching a variable unique to it.
        unsafe { std::env::set_var("SLUICE_TEST_SECRET_X", "hunter2") };
        let r = SecretRef::parse("${SLUICE_TEST_SECRET_X}").unwrap();
        let s = r.resolve().unwrap();
        assert_eq!(s.expose(), "hunter2");
        assert!(!format!("{r:?} {s:?}").contains("hunter2"));
        let missing = SecretRef::parse("${SLUICE_TEST_SECRET_MISSING}").unwrap();
        assert!(missing.resolve().unwrap_err().contains("not set"));
    }

    #[test]
    fn setting_values_expand_env_references() {
        // SAFETY: single-threaded test touching variables unique to it.
        unsafe { std::env::set_var("SLUICE_TEST_KAFKA_USER", "svc") };
        assert_eq!(expand_env_refs("plain").unwrap(), "plain");
        assert_eq!(
            expand_env_refs("${SLUICE_TEST_KAFKA_USER}@corp").unwrap(),
            "svc@corp"
        );
        assert!(
            expand_env_refs("${SLUICE_TEST_KAFKA_NOPE}")
                .unwrap_err()
                .contains("`SLUICE_TEST_KAFKA_NOPE` is not set")
        );
        assert!(
            check_env_refs("${1x}")
                .unwrap_err()
                .contains("not a valid environment reference")
        );
        assert!(check_env_refs("${OPEN").unwrap_err().contains("unclosed"));
    }
}
