//! Nearest neighbour, NSTNB (Thm 7, Thm 8): `x_1, y_1, …, x_n, y_n, x_q` with unit vectors
//! `x_i ∈ R^d` and label bits `y_i`; the answer is the label of `argmax_i <x_q, x_i>`.
//!
//! The sequence is tokens — `x` for a point, `y0`/`y1` for a label bit (tokens 0, 1, 2) — plus the
//! vectors of the point tokens, in order (`n + 1` of them, the query last). The model input of a
//! step is a real vector of length `d + 2` (not one-hot): a point is `[x, 0, 0]`, a label bit `y`
//! is `[0_d, 1, y]`.
//!
//! Distribution (the paper gives none; this one realises the margin exactly): the query is
//! uniform on the sphere; the nearest point's index `j` is uniform; its similarity
//! `c_j = <x_q, x_j>` is uniform in `[−1 + γ + 10⁻⁶, 1]` and every other similarity uniform in
//! `[−1, c_j − γ − 10⁻⁹]`; each point is `c·x_q + √(1 − c²)·u` with `u` uniform on the unit
//! sphere of the complement of `x_q`. So `<x_q, x_j> ≥ <x_q, x_i> + γ` for every `i ≠ j`, with
//! room to spare for rounding. Labels are uniform bits, so P(label 1) = 1/2.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{Example, Label, Token, Vocab, check_range};
use crate::error::InputError;

/// Token of a point.
const POINT: Token = 0;

/// Most dimensions accepted.
pub const MAX_DIM: usize = 1 << 16;

/// Slack kept below the margin so that rounding never breaks it.
const SLACK: f64 = 1e-9;

/// Nearest neighbour with `points` labelled points in dimension `dim` and margin `margin`.
#[derive(Clone, Debug)]
pub struct Nearest {
    points: usize,
    dim: usize,
    margin: f64,
    vocab: Vocab,
}

impl Nearest {
    /// `points ≥ 1` labelled points, `dim ≥ 2`, `0 < margin < 2` (similarities of unit vectors
    /// lie in [−1, 1]; with the generator's 10⁻⁶ of room, at most 2 − 2·10⁻⁶).
    pub fn new(points: usize, dim: usize, margin: f64) -> Result<Self, InputError> {
        check_range(
            "nearest neighbour: the number of labelled points",
            points,
            1,
        )?;
        check_range("nearest neighbour: the dimension d", dim, 2)?;
        if dim > MAX_DIM {
            return Err(InputError::new(format!(
                "nearest neighbour: the dimension d = {dim} is too large (at most {MAX_DIM})"
            )));
        }
        if points.saturating_mul(dim) > super::MAX_LENGTH * 16 {
            return Err(InputError::new(format!(
                "nearest neighbour: {points} points of dimension {dim} are too many numbers"
            )));
        }
        if !(margin > 0.0 && margin <= 2.0 - 2e-6) {
            return Err(InputError::new(format!(
                "nearest neighbour: the margin γ must be in (0, 2), got {margin}"
            )));
        }
        Ok(Nearest {
            points,
            dim,
            margin,
            vocab: Vocab::new(vec!["x".into(), "y0".into(), "y1".into()]),
        })
    }

    /// Short name.
    pub fn name(&self) -> &'static str {
        "nearest"
    }

    /// Tokens: `x`, `y0`, `y1`.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// d + 2: the length of each model input vector.
    pub fn input_dim(&self) -> usize {
        self.dim + 2
    }

    /// The margin γ.
    pub fn margin(&self) -> f64 {
        self.margin
    }

    /// The token of label bit `b`.
    pub fn label_token(b: bool) -> Token {
        1 + Token::from(b)
    }

    /// Draws one example (see the module documentation for the distribution).
    pub fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        let query = unit(rng, self.dim, None);
        let nearest = rng.random_range(0..self.points);
        let top = rng.random_range(-1.0 + self.margin + 1e-6..=1.0);
        let mut points: Vec<Vec<f64>> = (0..self.points)
            .map(|i| {
                let c = if i == nearest {
                    top
                } else {
                    rng.random_range(-1.0..=top - self.margin - SLACK)
                };
                let u = unit(rng, self.dim, Some(&query));
                let s = (1.0 - c * c).max(0.0).sqrt();
                query.iter().zip(&u).map(|(q, u)| c * q + s * u).collect()
            })
            .collect();
        let labels: Vec<bool> = (0..self.points).map(|_| rng.random_bool(0.5)).collect();
        let mut tokens = Vec::with_capacity(2 * self.points + 1);
        for &y in &labels {
            tokens.extend([POINT, Self::label_token(y)]);
        }
        tokens.push(POINT);
        points.push(query);
        let mut ex = Example::new(
            self.name(),
            &self.vocab,
            tokens,
            Label::bit(labels[nearest]),
        );
        ex.points = points;
        ex
    }

    /// Checks the form: tokens `x y x y … x` (any number of pairs), one finite `d`-vector per
    /// point token.
    fn check(&self, tokens: &[Token], points: &[Vec<f64>]) -> Result<(), InputError> {
        self.vocab.check(tokens)?;
        let well_formed = tokens.len() % 2 == 1
            && tokens
                .iter()
                .enumerate()
                .all(|(i, &t)| (i % 2 == 0) == (t == POINT));
        if !well_formed {
            return Err(InputError::new(
                "nearest neighbour expects x, label, x, label, …, x",
            ));
        }
        if points.len() != tokens.len() / 2 + 1 {
            return Err(InputError::new(format!(
                "nearest neighbour: {} point tokens but {} vectors",
                tokens.len() / 2 + 1,
                points.len()
            )));
        }
        if let Some(p) = points
            .iter()
            .find(|p| p.len() != self.dim || p.iter().any(|v| !v.is_finite()))
        {
            return Err(InputError::new(format!(
                "nearest neighbour: every vector needs {} finite coordinates, got {:?}",
                self.dim, p
            )));
        }
        Ok(())
    }

    /// The similarities `<x_q, x_i>` of the query (the last point) to each labelled point.
    pub fn similarities(
        &self,
        tokens: &[Token],
        points: &[Vec<f64>],
    ) -> Result<Vec<f64>, InputError> {
        self.check(tokens, points)?;
        let (query, labelled) = points
            .split_last()
            .ok_or_else(|| InputError::new("nearest neighbour: no query"))?;
        Ok(labelled.iter().map(|p| dot(p, query)).collect())
    }

    /// The label of the most similar point (the first one on a tie); an error when there are
    /// no labelled points.
    pub fn label(&self, tokens: &[Token], points: &[Vec<f64>]) -> Result<Label, InputError> {
        let sims = self.similarities(tokens, points)?;
        let best = sims
            .iter()
            .enumerate()
            .fold(None, |best: Option<(usize, f64)>, (i, &s)| match best {
                Some((_, b)) if b >= s => best,
                _ => Some((i, s)),
            })
            .ok_or_else(|| InputError::new("nearest neighbour: no labelled points"))?;
        Ok(Label::bit(
            tokens[2 * best.0 + 1] == Self::label_token(true),
        ))
    }

    /// Model inputs: `[x, 0, 0]` for a point, `[0_d, 1, y]` for a label bit.
    pub fn embed(
        &self,
        tokens: &[Token],
        points: &[Vec<f64>],
    ) -> Result<Vec<Vec<f64>>, InputError> {
        self.check(tokens, points)?;
        let mut next_point = points.iter();
        Ok(tokens
            .iter()
            .map(|&t| {
                let mut v = vec![0.0; self.dim + 2];
                if t == POINT {
                    if let Some(p) = next_point.next() {
                        v[..self.dim].copy_from_slice(p);
                    }
                } else {
                    v[self.dim] = 1.0;
                    v[self.dim + 1] = f64::from(t == Self::label_token(true));
                }
                v
            })
            .collect())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A uniformly random unit vector in R^d (normalised Gaussian, Box–Muller), orthogonal to
/// `against` when given (a unit vector).
fn unit(rng: &mut ChaCha8Rng, d: usize, against: Option<&[f64]>) -> Vec<f64> {
    loop {
        let mut v: Vec<f64> = (0..d)
            .map(|_| {
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random();
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            })
            .collect();
        if let Some(q) = against {
            let c = dot(&v, q);
            v.iter_mut().zip(q).for_each(|(x, q)| *x -= c * q);
        }
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-6 {
            v.iter_mut().for_each(|x| *x /= norm);
            if let Some(q) = against {
                // One more projection removes what rounding left along `q`.
                let c = dot(&v, q);
                v.iter_mut().zip(q).for_each(|(x, q)| *x -= c * q);
            }
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::example_rng;

    #[test]
    fn margin_and_labels_hold() {
        for (points, dim, margin) in [(6, 8, 0.1), (1, 2, 0.5), (20, 32, 0.01), (4, 3, 1.9)] {
            let task = Nearest::new(points, dim, margin).unwrap();
            let mut rng = example_rng(8, 0);
            let mut positives = 0;
            for _ in 0..1000 {
                let ex = task.generate(&mut rng);
                assert_eq!(ex.tokens.len(), 2 * points + 1);
                assert_eq!(ex.points.len(), points + 1);
                for p in &ex.points {
                    assert!((dot(p, p) - 1.0).abs() < 1e-12, "unit vectors");
                }
                let sims = task.similarities(&ex.tokens, &ex.points).unwrap();
                let mut sorted = sims.clone();
                sorted.sort_by(f64::total_cmp);
                if points > 1 {
                    assert!(
                        sorted[points - 1] - sorted[points - 2] >= margin,
                        "{sims:?}"
                    );
                }
                let j = sims.iter().position(|&s| s == sorted[points - 1]).unwrap();
                let bit = ex.tokens[2 * j + 1] == Nearest::label_token(true);
                assert_eq!(ex.label, Label::bit(bit));
                assert_eq!(task.label(&ex.tokens, &ex.points).unwrap(), ex.label);
                positives += usize::from(bit);
            }
            assert!((430..=570).contains(&positives), "{positives}");
        }
    }

    #[test]
    fn embeds_points_and_labels() {
        let task = Nearest::new(1, 2, 0.5).unwrap();
        let tokens = [POINT, Nearest::label_token(true), POINT];
        let points = vec![vec![1.0, 0.0], vec![0.6, 0.8]];
        let e = task.embed(&tokens, &points).unwrap();
        assert_eq!(
            e,
            vec![
                vec![1.0, 0.0, 0.0, 0.0],
                vec![0.0, 0.0, 1.0, 1.0],
                vec![0.6, 0.8, 0.0, 0.0]
            ]
        );
        assert!(task.label(&tokens, &points).unwrap().as_bit().unwrap());
        assert!(task.embed(&tokens, &points[..1]).is_err());
        assert!(task.label(&tokens, &[vec![1.0], vec![1.0]]).is_err());
        assert!(
            task.label(&tokens, &[vec![f64::NAN, 0.0], vec![1.0, 0.0]])
                .is_err()
        );
        assert!(task.label(&[POINT, POINT], &points).is_err());
    }

    #[test]
    fn validates() {
        assert!(Nearest::new(0, 4, 0.1).is_err());
        assert!(Nearest::new(3, 1, 0.1).is_err());
        assert!(Nearest::new(3, 4, 0.0).is_err());
        assert!(Nearest::new(3, 4, 2.0).is_err());
        assert!(Nearest::new(3, 4, f64::NAN).is_err());
        assert!(Nearest::new(3, MAX_DIM + 1, 0.1).is_err());
    }
}
