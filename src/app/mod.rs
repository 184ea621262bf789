//! The application layer: what each `ccsep` subcommand does, between the command line and the
//! library. It knows where a model comes from ([`source`]), writes and re-checks witnesses
//! ([`witness`]), and runs `cc`, `verify`, `run`, `check` (one point, or a grid with its
//! resumable JSON-lines file) and `construct` (one build, or a size curve) on typed requests.
//! It returns result types for `report` to render and never prints: progress goes to the
//! callbacks it is given, and JSON lines of grids and curves to the sink it is given.

pub mod cc;
pub mod check;
pub mod construct;
pub mod files;
pub mod run;
pub mod source;
pub mod train;
pub mod verify;
pub mod witness;

pub use source::{MAX_RANDOM_WIDTH, ModelSource};

/// What `ccsep check` reports: the protocol's report about a model from a [`ModelSource`].
pub type CheckReport = crate::protocol::CheckReport<ModelSource>;

/// Where the JSON lines of a grid or a curve go when no `--out` file is named.
pub type LineSink<'a> = &'a mut dyn FnMut(&serde_json::Value) -> anyhow::Result<()>;

/// How a front end spells a [`crate::error::Setting`] that an error message names, for the
/// messages `app` writes itself (a grid point's `"error"`, a refused or rejected `verify` file):
/// the CLI passes `cli::flag` (`--max-work`).
pub type Spell = fn(crate::error::Setting) -> String;

/// Where stage messages of long work go (a spinner).
pub type Status<'a> = &'a (dyn Fn(String) + Sync);
