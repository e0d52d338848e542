//! The golden corpus: realistic Confluence storage-format pages and, beside
//! each, the text a reader sees, written by hand from the rendering rules in
//! connectors/README.md (never produced by this converter).

use std::path::{Path, PathBuf};

use sluice_text::html::{UserNames, convert_with};

#[test]
fn every_storage_page_reads_as_written_by_hand() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/storage");
    let users: UserNames =
        serde_json::from_str(&std::fs::read_to_string(dir.join("users.json")).unwrap()).unwrap();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "at least 30 pages: {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let page = std::fs::read_to_string(case).unwrap();
        let want = std::fs::read_to_string(case.with_extension("txt")).unwrap();
        let got = convert_with(&page, &users);
        assert!(
            got.warnings.is_empty(),
            "{}: {:?}",
            case.display(),
            got.warnings
        );
        if got.text != want {
            failures.push(format!(
                "{}\n--- want\n{want}\n--- got\n{}\n",
                case.file_name().unwrap().to_string_lossy(),
                got.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
