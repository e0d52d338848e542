//! HTML and Confluence storage format → text (sluice-text).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let c = sluice_text::html::convert(&input);
    assert!(c.text.len() <= input.len() * 4 + 64);
});
