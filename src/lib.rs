//! ccsep: communication-complexity separations between Transformers and recurrent networks,
//! made runnable and checkable. This crate is the library behind the `ccsep` command;
//! `ARCHITECTURE.md` maps its modules and the layers they form.

pub mod app;
pub mod certificate;
pub mod cli;
pub mod construct;
pub mod demo;
pub mod error;
pub mod input;
pub mod matrix;
pub mod measures;
pub mod model;
pub mod numeric;
pub mod paper;
pub mod plot;
pub mod problem;
pub mod protocol;
pub mod report;
pub mod sweep;
pub mod task;
pub mod train;
