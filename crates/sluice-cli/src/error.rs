//! How a command fails, and the exit code each failure means — the one
//! place that maps them (scripts rely on these codes; the README lists them):
//! 0 ok · 1 runtime or set-up error · 2 invalid pipeline or usage ·
//! 3 a source failed (its checkpoint did not advance; other sources ran) ·
//! 4 finished, but some records went to the dead-letter record.

use sluice_spec::Diagnostic;

pub const EXIT_OK: u8 = 0;
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_INVALID: u8 = 2;
pub const EXIT_SOURCE_FAILED: u8 = 3;
pub const EXIT_DEAD_LETTERS: u8 = 4;

#[derive(Debug)]
pub enum Failure {
    /// Set-up or runtime trouble (a model missing, a port taken, a store down).
    Runtime(String),
    /// The pipeline file or the command line is wrong.
    Invalid(String),
    /// Every problem of a pipeline file, with file:line:column.
    Diagnostics(Vec<Diagnostic>),
    /// A source failed; the report was printed.
    SourceFailed,
    /// The run finished with dead letters; the report was printed.
    DeadLetters,
}

impl Failure {
    pub fn runtime(e: impl std::fmt::Display) -> Failure {
        Failure::Runtime(e.to_string())
    }

    pub fn code(&self) -> u8 {
        match self {
            Failure::Runtime(_) => EXIT_RUNTIME,
            Failure::Invalid(_) | Failure::Diagnostics(_) => EXIT_INVALID,
            Failure::SourceFailed => EXIT_SOURCE_FAILED,
            Failure::DeadLetters => EXIT_DEAD_LETTERS,
        }
    }

    /// What the user reads on stderr.
    pub fn print(&self) {
        match self {
            Failure::Runtime(m) | Failure::Invalid(m) => eprintln!("error: {m}"),
            Failure::Diagnostics(diags) => {
                for d in diags {
                    eprintln!("error: {d}");
                }
                eprintln!(
                    "{} problem{} found",
                    diags.len(),
                    if diags.len() == 1 { "" } else { "s" }
                );
            }
            Failure::SourceFailed | Failure::DeadLetters => {}
        }
    }
}

/// Prints the failure (if any) and returns the process exit code.
pub fn exit_code(outcome: Result<(), Failure>) -> u8 {
    match outcome {
        Ok(()) => EXIT_OK,
        Err(f) => {
            f.print();
            f.code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_documented_code() {
        assert_eq!(exit_code(Ok(())), 0);
        assert_eq!(exit_code(Err(Failure::runtime("port taken"))), 1);
        assert_eq!(exit_code(Err(Failure::Invalid("bad flag".into()))), 2);
        assert_eq!(exit_code(Err(Failure::Diagnostics(Vec::new()))), 2);
        assert_eq!(exit_code(Err(Failure::SourceFailed)), 3);
        assert_eq!(exit_code(Err(Failure::DeadLetters)), 4);
    }
}
