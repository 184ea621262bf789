//! The kit the constructions are built from, each piece with one meaning:
//!
//! - [`residual`]: the residual stream as named subspaces, and weights written through them;
//! - [`grid`]: the precision grid the constants live on (steps, rounding up, hard softmax gaps,
//!   the weights the model's own arithmetic gives, and naming a precision);
//! - [`tally`]: running a model on instances and counting errors, first error and saturations;
//! - [`search`]: the size search (the smallest correct `width × bits`);
//! - [`budget`]: the work budget (`--max-work`) and its refusals.
//!
//! The nearly orthogonal codes the Transformers use are [`super::vectors`].

pub mod budget;
pub mod grid;
pub mod residual;
pub mod search;
pub mod tally;
