//! Jira wiki markup → text (sluice-jira).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let text = sluice_jira::adf::wiki_to_text(&input);
    assert!(text.len() <= input.len() * 4 + 64);
});
