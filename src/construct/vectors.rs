//! Nearly orthogonal vectors `T(1) … T(N)` in `R^k`: every `|<T_i, T_j>| ≤ γ` for `i ≠ j`,
//! `<T_i, T_i> = 1`. The Transformer constructions use them as positional codes.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{ConstructOptions, Construction};
use crate::error::InputError;
use crate::model::Matrix;

/// `n` seeded random sign vectors of length `k`, entries `±1/√k` (row `i` is `T(i)`).
pub fn random_signs(n: usize, k: usize, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c = 1.0 / (k as f64).sqrt();
    let data = (0..n * k)
        .map(|_| if rng.random_bool(0.5) { c } else { -c })
        .collect();
    Matrix::new(n, k, data).expect("n·k entries")
}

/// `max_{i ≠ j} |<T_i, T_j>|` over the rows, exactly (0 for fewer than two rows).
pub fn worst_inner(codes: &Matrix) -> f64 {
    let n = codes.rows();
    let mut worst = 0.0f64;
    for i in 0..n {
        for j in i + 1..n {
            let d: f64 = codes.row(i).iter().zip(codes.row(j)).map(|(a, b)| a * b).sum();
            worst = worst.max(d.abs());
        }
    }
    worst
}

/// `ccsep construct vectors`: not built yet.
pub fn construct(_opts: &ConstructOptions) -> Result<Construction, InputError> {
    Err(InputError::new("construct vectors: not built yet"))
}
