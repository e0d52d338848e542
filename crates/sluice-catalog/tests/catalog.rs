//! The table: every shipped source is registered, each settings schema is
//! checked in, and a build without an optional component names the feature.
//! Regenerate the schemas with `SLUICE_BLESS=1 cargo test -p sluice-catalog`.

#[test]
fn every_shipped_source_is_registered() {
    let r = sluice_catalog::registry();
    assert_eq!(
        r.source_types(),
        vec![
            "confluence",
            "files",
            "gitlab",
            "jira",
            "slack",
            "slack_export"
        ]
    );
    assert!(r.store("embedded").is_ok());
    for (name, compiled) in sluice_catalog::features() {
        let found = match name {
            "kafka" => r.transport(name).is_ok(),
            _ => r.store(name).is_ok(),
        };
        assert_eq!(found, compiled, "{name}");
        if !compiled {
            let e = if name == "kafka" {
                r.transport(name).err()
            } else {
                r.store(name).err()
            };
            assert!(e.unwrap().hint.contains(&format!("--features {name}")));
        }
    }
}

#[test]
fn checked_in_source_schemas_match_the_settings_types() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/sources");
    let bless = std::env::var_os("SLUICE_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for (name, generated) in sluice_catalog::source_settings_schemas() {
        let path = dir.join(format!("{name}.schema.json"));
        if bless {
            std::fs::write(&path, &generated).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{} is out of date; regenerate with SLUICE_BLESS=1 cargo test -p sluice-catalog",
            path.display()
        );
        let v: serde_json::Value = serde_json::from_str(&generated).unwrap();
        assert_eq!(v["type"], "object", "{name}: settings are a map");
        assert!(
            v["properties"].as_object().is_some_and(|p| !p.is_empty()),
            "{name}: no properties"
        );
    }
}

/// What a reader of the settings structs sees, written out by hand: the
/// keys a user may put under `settings:`, and which of them are required.
#[test]
fn settings_schemas_list_the_keys_users_write() {
    let schemas = sluice_catalog::source_settings_schemas();
    let keys = |name: &str| -> (Vec<String>, Vec<String>) {
        let v: serde_json::Value = serde_json::from_str(&schemas[name]).unwrap();
        let mut props: Vec<String> = v["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        props.sort();
        let mut required: Vec<String> = v["required"]
            .as_array()
            .map(|r| r.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        required.sort();
        (props, required)
    };
    let (props, required) = keys("gitlab");
    assert_eq!(
        props,
        [
            "base_url",
            "file_globs",
            "file_max_bytes",
            "files",
            "groups",
            "http",
            "issues",
            "max_notes",
            "merge_requests",
            "overlap_minutes",
            "page_size",
            "projects",
            "wiki"
        ]
    );
    assert!(
        required.is_empty(),
        "every GitLab setting has a default: {required:?}"
    );
    let (props, required) = keys("slack_export");
    assert_eq!(
        props,
        [
            "channels",
            "include_private",
            "path",
            "thread_window_hours",
            "workspace_url"
        ]
    );
    assert_eq!(required, ["path"]);
}
