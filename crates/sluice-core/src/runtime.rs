//! Running CPU-bound work (embedding, index commits) from async code.

/// Runs `f` on the current worker without stalling the async runtime's other
/// tasks (`block_in_place` on a multi-threaded runtime; directly elsewhere,
/// where there is nothing to stall or `block_in_place` would panic).
pub fn run_blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
