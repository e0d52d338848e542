//! The identity map: from who a caller is (a JWT's subject and groups, or
//! an API key's `identity`) to the principals each system stored for them
//! (`confluence:wiki:user:5b10…`, `slack:chat:user:U024…`). Principals are
//! per system, so an employee's Confluence account and Slack account are
//! different principals, and a Slack user group never grants a Confluence
//! group's pages. The map fails closed: a subject or group it does not list
//! gains nothing, so an unmapped caller reads public documents only.
//!
//! ```yaml
//! users:                       # JWT `sub` (or an API key's `identity`)
//!   alice@northwind.example:
//!     - confluence:wiki:user:5b10ac8d82e05b22cc7d4ef5
//!     - slack:chat:user:U024BE7LH
//! groups:                      # entries of the JWT groups claim
//!   engineering:
//!     - confluence:wiki:group:engineering
//!     - gitlab:code:signed-in
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityMap {
    #[serde(default)]
    users: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
}

impl IdentityMap {
    pub fn load(path: &Path) -> Result<IdentityMap, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        IdentityMap::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<IdentityMap, String> {
        let map: IdentityMap = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        for (section, entries) in [("users", &map.users), ("groups", &map.groups)] {
            for (who, principals) in entries {
                if let Some(bad) = principals.iter().find(|p| {
                    !p.contains(':')
                        || p.trim() == "*"
                        || p.trim().is_empty()
                        || p.starts_with("sluice:")
                }) {
                    return Err(format!(
                        "{section}.{who}: `{bad}` is not a stored principal; write it as the connector stores it, e.g. confluence:<source id>:group:<name>"
                    ));
                }
            }
        }
        Ok(map)
    }

    /// The principals of a subject with these groups; empty when the map
    /// lists none of them (public documents only).
    pub fn resolve(&self, subject: &str, groups: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = self
            .users
            .get(subject)
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for g in groups {
            out.extend(self.groups.get(*g).into_iter().flatten().cloned());
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "users:\n  alice:\n    - confluence:wiki:user:a1\ngroups:\n  hr:\n    - confluence:wiki:group:hr\n  eng:\n    - slack:chat:group:eng\n";

    #[test]
    fn subjects_and_groups_map_to_their_systems_principals() {
        let m = IdentityMap::parse(MAP).unwrap();
        assert_eq!(
            m.resolve("alice", &["hr"]),
            vec![
                "confluence:wiki:group:hr".to_string(),
                "confluence:wiki:user:a1".to_string()
            ]
        );
        assert_eq!(
            m.resolve("bob", &["eng"]),
            vec!["slack:chat:group:eng".to_string()]
        );
    }

    #[test]
    fn an_unmapped_caller_gains_nothing() {
        let m = IdentityMap::parse(MAP).unwrap();
        assert!(
            m.resolve(
                "mallory",
                &["finance", "group:hr", "confluence:wiki:group:hr"]
            )
            .is_empty()
        );
    }

    #[test]
    fn unqualified_principals_are_refused() {
        let e = IdentityMap::parse("groups:\n  hr: [hr]\n").unwrap_err();
        assert!(
            e.contains("groups.hr") && e.contains("confluence:<source id>"),
            "{e}"
        );
        assert!(IdentityMap::parse("users:\n  a: ['*']\n").is_err());
    }
}
