//! Atlassian Document Format → text (sluice-jira).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
        let (text, _) = sluice_jira::adf::adf_to_text(&doc);
        assert!(text.len() <= data.len() * 4 + 64);
    }
});
