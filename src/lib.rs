//! ccsep: communication-complexity separations between Transformers and recurrent networks,
//! made runnable and checkable. See DESIGN.md for the pipeline; this crate is the library behind
//! the `ccsep` command.

pub mod certificate;
pub mod cli;
pub mod construct;
pub mod error;
pub mod input;
pub mod matrix;
pub mod measures;
pub mod model;
pub mod numeric;
pub mod problem;
pub mod protocol;
pub mod report;
pub mod sweep;
pub mod task;
