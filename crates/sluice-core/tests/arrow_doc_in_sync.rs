//! `schemas/arrow.md` must list exactly the columns of the Arrow schemas.

use sluice_core::arrow_conv::{chunks_schema, records_schema};

fn documented(section: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(
        std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo test"),
        )
        .join("../../schemas/arrow.md"),
    )
    .unwrap();
    let start = doc
        .find(section)
        .unwrap_or_else(|| panic!("section {section} missing"));
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with("| `"))
        .map(|l| l.split('`').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn records_and_chunks_are_documented() {
    let records: Vec<String> = records_schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(documented("## `records`"), records);
    let chunks: Vec<String> = chunks_schema(384)
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(documented("## chunk batches"), chunks);
}
