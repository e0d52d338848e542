//! Pipeline YAML, as `sluice validate` reads it (sluice-spec).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(diags) = sluice_spec::load_pipeline_str(text, "fuzz.yaml", std::path::Path::new(".")) {
            assert!(!diags.is_empty());
        }
    }
});
