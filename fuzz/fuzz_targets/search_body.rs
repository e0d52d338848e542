//! The search request JSON → a bounded engine request (sluice-api).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<sluice_api::SearchBody>(data) {
        if let Ok(req) = sluice_api::to_request(body, sluice_core::search::Access::public_only()) {
            assert!((1..=sluice_api::MAX_TOP_K).contains(&req.top_k));
            assert!(!req.query.trim().is_empty() && req.query.chars().count() <= 4096);
        }
    }
});
