//! One module per `sluice` command.

pub mod daemon;
pub mod dead_letters;
pub mod eval;
pub mod keygen;
pub mod related;
pub mod run;
pub mod search;
pub mod serve;
pub mod status;
pub mod validate;
pub mod worker;
