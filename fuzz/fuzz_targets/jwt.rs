//! Bearer JWTs against keys the fuzzer does not hold (sluice-api): every
//! token is refused, none panics.
#![no_main]
use std::sync::OnceLock;

fn keys() -> &'static sluice_api::ApiKeys {
    static KEYS: OnceLock<sluice_api::ApiKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // SAFETY: set once, before any key file reads it.
        unsafe { std::env::set_var("SLUICE_FUZZ_JWT_SECRET", "a-secret-of-at-least-thirty-two-bytes!!") };
        let dir = std::env::temp_dir().join("sluice-fuzz-jwt");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ids.yaml"), "users: {}\n").unwrap();
        sluice_api::ApiKeys::parse_in("jwt:\n  audience: a\n  issuer: https://idp.test\n  hs256_secret_env: SLUICE_FUZZ_JWT_SECRET\nidentity_map: ids.yaml\n", &dir).unwrap()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    assert!(keys().verify_jwt(&token).is_err());
});
