//! The golden corpora: realistic Jira bodies in Atlassian Document Format
//! (Cloud) and wiki markup (Server/Data Center) and, beside each, the text a
//! reader sees, written by hand from the rendering rules in
//! connectors/README.md.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn cases(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

fn check(cases: &[PathBuf], render: impl Fn(&str) -> String) {
    let mut failures = Vec::new();
    for case in cases {
        let input = std::fs::read_to_string(case).unwrap();
        let want = std::fs::read_to_string(case.with_extension("txt")).unwrap();
        let got = render(&input);
        if got != want {
            failures.push(format!(
                "{}\n--- want\n{want}\n--- got\n{got}\n",
                case.file_name().unwrap().to_string_lossy()
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

#[test]
fn every_adf_document_reads_as_written_by_hand() {
    let cases = cases(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/adf"),
        "json",
    );
    assert!(
        cases.len() >= 20,
        "at least 20 ADF documents: {}",
        cases.len()
    );
    check(&cases, |input| {
        let doc: serde_json::Value = serde_json::from_str(input).unwrap();
        let (text, warning) = sluice_jira::adf::adf_to_text(&doc);
        assert_eq!(warning, None);
        text
    });
}

#[test]
fn every_wiki_body_reads_as_written_by_hand() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/wiki");
    let users: HashMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("users.json")).unwrap()).unwrap();
    let cases = cases(&dir, "wiki");
    assert!(
        cases.len() >= 10,
        "at least 10 wiki bodies: {}",
        cases.len()
    );
    check(&cases, |input| {
        sluice_jira::adf::wiki_to_text_with(input, &users)
    });
}
