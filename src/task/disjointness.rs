//! Set disjointness (Thm 13; the source of Thm 8's bound): `x_1 … x_{N/2} | y_1 … y_{N/2}` over
//! the bits `0`, `1`; the label is 1 when no position has `x_i = y_i = 1`.
//!
//! Vocabulary: `0`, `1`, `|` (tokens 0, 1, 2). `N` counts the bits of both halves (even).
//!
//! Distribution (the paper gives none; this is the standard hard one, with intersections of
//! size at most one): with probability 1/2 a disjoint pair, otherwise an intersecting one. Every
//! position independently takes `(x_i, y_i)` uniformly from `{(0,0), (1,0), (0,1)}`; an
//! intersecting pair then has one uniformly chosen position set to `(1,1)`. P(label 1) = 1/2.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{Example, Label, Task, Token, Vocab, check_even, check_range};
use crate::error::InputError;

/// Disjointness of two `length / 2`-bit strings.
#[derive(Clone, Debug)]
pub struct Disjointness {
    length: usize,
    vocab: Vocab,
}

/// Token of bit 0; bit 1 is token 1.
const ZERO: Token = 0;
/// Token of `|`.
const SEPARATOR: Token = 2;

impl Disjointness {
    /// `length` = N, the bits of both strings together: even and ≥ 2.
    pub fn new(length: usize) -> Result<Self, InputError> {
        check_range("disjointness: the length N (both halves)", length, 2)?;
        check_even(
            "disjointness: the length N (two halves of N/2 bits)",
            length,
        )?;
        Ok(Disjointness {
            length,
            vocab: Vocab::new(vec!["0".into(), "1".into(), "|".into()]),
        })
    }

    /// N/2, the bits per party.
    pub fn half(&self) -> usize {
        self.length / 2
    }

    /// The token of a bit.
    pub fn bit(b: bool) -> Token {
        ZERO + Token::from(b)
    }

    /// The separator `|`.
    pub fn separator() -> Token {
        SEPARATOR
    }
}

impl Task for Disjointness {
    fn name(&self) -> &'static str {
        "disjointness"
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        let h = self.half();
        let mut pairs: Vec<(bool, bool)> = (0..h)
            .map(|_| match rng.random_range(0..3) {
                0 => (false, false),
                1 => (true, false),
                _ => (false, true),
            })
            .collect();
        let disjoint = rng.random_bool(0.5);
        if !disjoint {
            pairs[rng.random_range(0..h)] = (true, true);
        }
        let tokens = pairs
            .iter()
            .map(|p| Self::bit(p.0))
            .chain([SEPARATOR])
            .chain(pairs.iter().map(|p| Self::bit(p.1)))
            .collect();
        Example::new(self.name(), &self.vocab, tokens, Label::bit(disjoint))
    }

    fn label(&self, tokens: &[Token]) -> Result<Label, InputError> {
        self.vocab.check(tokens)?;
        let h = self.half();
        if tokens.len() != self.length + 1
            || tokens
                .iter()
                .enumerate()
                .any(|(i, &t)| (i == h) != (t == SEPARATOR))
        {
            return Err(InputError::new(format!(
                "disjointness expects {h} bits, |, then {h} bits"
            )));
        }
        let (x, y) = (&tokens[..h], &tokens[h + 1..]);
        let meet = x.iter().zip(y).any(|(&a, &b)| a == 1 && b == 1);
        Ok(Label::bit(!meet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::example_rng;

    #[test]
    fn labels_are_correct_and_balanced() {
        for n in [2, 10, 40] {
            let task = Disjointness::new(n).unwrap();
            let mut rng = example_rng(6, 0);
            let mut positives = 0;
            for _ in 0..1000 {
                let ex = task.generate(&mut rng);
                let h = n / 2;
                let meets = (0..h)
                    .filter(|&i| ex.tokens[i] == 1 && ex.tokens[h + 1 + i] == 1)
                    .count();
                assert!(meets <= 1);
                assert_eq!(ex.label, Label::bit(meets == 0));
                assert_eq!(task.label(&ex.tokens).unwrap(), ex.label);
                positives += usize::from(meets == 0);
            }
            assert!((430..=570).contains(&positives), "{n}: {positives}");
        }
    }

    #[test]
    fn validates() {
        assert!(Disjointness::new(3).unwrap_err().message.contains("even"));
        assert!(Disjointness::new(0).is_err());
        let t = Disjointness::new(4).unwrap();
        assert_eq!(
            t.label(&t.vocab().parse("10|01").unwrap())
                .unwrap()
                .to_string(),
            "1"
        );
        assert_eq!(
            t.label(&t.vocab().parse("11|01").unwrap())
                .unwrap()
                .to_string(),
            "0"
        );
        assert!(t.label(&t.vocab().parse("1|101").unwrap()).is_err());
        assert!(t.label(&t.vocab().parse("10|0").unwrap()).is_err());
        assert!(t.label(&t.vocab().parse("10|0|").unwrap()).is_err());
    }
}
