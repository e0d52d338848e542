use std::path::PathBuf;

/// `$SLUICE_HOME`, else `$HOME/.cache/sluice`: where `scripts/setup.sh`
/// puts the ONNX Runtime library and the model.
pub fn sluice_home() -> PathBuf {
    if let Some(h) = std::env::var_os("SLUICE_HOME") {
        return PathBuf::from(h);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("sluice")
}

/// `$ORT_DYLIB_PATH`, else the library that set-up installed.
pub fn default_ort_library() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    sluice_home().join("ort").join("libonnxruntime.so")
}

pub fn default_model_dir(model: &str) -> PathBuf {
    sluice_home().join("models").join(model)
}
