//! The checked-in JSON Schema must match the Rust types. Regenerate with
//! `SLUICE_BLESS=1 cargo test -p sluice-spec --test schema_in_sync`.

#[test]
fn checked_in_schema_matches_types() {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"),
    )
    .join("../../schemas/pipeline.schema.json");
    let generated = sluice_spec::pipeline_json_schema();
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "schemas/pipeline.schema.json is out of date; regenerate it with \
         SLUICE_BLESS=1 cargo test -p sluice-spec --test schema_in_sync"
    );
}
