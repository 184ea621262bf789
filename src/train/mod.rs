//! Training the architectures on the tasks, on the CPU, reproducibly, with candle.
//!
//! A run ([`run::train`]) takes a [`TrainConfig`] (flags or TOML), draws fresh batches from the
//! task's seeded generator every step, trains the network of [`net`] with Adam or AdamW
//! ([`optim`]), evaluates on fresh examples at exactly the task's length, stops early at the
//! target accuracy, and saves the best weights under the names `model::load` reads, so that
//! `ccsep run` / `check` then run the trained network with ccsep's own forward pass at any
//! precision. Same config and seed ⇒ the same weights and the same run (one thread per run:
//! candle's matrix products then run single-threaded).

pub mod config;
pub mod data;
pub mod net;
pub mod optim;
pub mod params;
pub mod preset;
pub mod run;
pub mod search;

pub use config::TrainConfig;
pub use run::{RunOptions, RunRecord, Status, train};

#[cfg(test)]
mod tests;
