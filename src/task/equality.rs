//! String equality (Thm 6, Thm 11, Thm 12): `a_1 … a_{N/2} | b_1 … b_{N/2}`.
//!
//! Vocabulary: the symbols `0 … |Σ|−1` (tokens `0 … |Σ|−1`) and the separator `|` (token |Σ|).
//! `N` counts the symbols of both halves (so it is even; the sequence has N+1 tokens).
//!
//! Variants (the paper's experiments):
//! - [`EqVariant::Random`] (Eq-random): with probability 1/2 the second half copies the first,
//!   otherwise it is uniformly random. The label is `[a = b]`, computed, so a random second half
//!   that happens to equal the first is labelled 1: P(label 1) = 1/2 + |Σ|^(−N/2)/2.
//! - [`EqVariant::One`] (Eq-one): with probability 1/2 a copy, otherwise a copy with exactly one
//!   uniformly chosen position changed to another uniformly chosen symbol. P(label 1) = 1/2.
//! - [`EqVariant::Copy`]: the second half always copies the first and the label is a
//!   next-token target at every position ([`Label::NextTokens`]): from the separator (position
//!   N/2) to position N−1, the target at position N/2 + j is `a_{j+1}`, the symbol to be copied
//!   next; no target elsewhere. Targets are read off the first half, so they are defined whatever
//!   the second half holds (teacher forcing).
//!
//! The classification label is EQ (1 when the halves are equal); INEQ, the function of Thm 11
//! and 12, is its negation.

use std::fmt;
use std::str::FromStr;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{Example, Label, Task, Token, Vocab, check_even, check_range};
use crate::error::InputError;

/// Which equality task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EqVariant {
    /// Negatives have a uniformly random second half.
    Random,
    /// Negatives differ from the first half in exactly one position.
    One,
    /// Next-token prediction of the copy.
    Copy,
}

impl FromStr for EqVariant {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, InputError> {
        match s.to_ascii_lowercase().as_str() {
            "random" | "eq-random" => Ok(EqVariant::Random),
            "one" | "eq-one" => Ok(EqVariant::One),
            "copy" | "copying" => Ok(EqVariant::Copy),
            other => Err(InputError::new(format!(
                "unknown equality variant {other:?}: choose random, one or copy"
            ))),
        }
    }
}

impl fmt::Display for EqVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EqVariant::Random => "random",
            EqVariant::One => "one",
            EqVariant::Copy => "copy",
        })
    }
}

/// String equality over `alphabet` symbols, halves of `length / 2` symbols.
#[derive(Clone, Debug)]
pub struct Equality {
    alphabet: usize,
    length: usize,
    variant: EqVariant,
    vocab: Vocab,
}

impl Equality {
    /// `alphabet` ≥ 2; `length` = N, the symbols of both halves together: even and ≥ 2.
    pub fn new(alphabet: usize, length: usize, variant: EqVariant) -> Result<Self, InputError> {
        check_range("equality: the alphabet size |Σ|", alphabet, 2)?;
        check_range("equality: the length N (both halves)", length, 2)?;
        check_even("equality: the length N (two halves of N/2 symbols)", length)?;
        let names = (0..alphabet)
            .map(|s| s.to_string())
            .chain(["|".to_string()])
            .collect();
        Ok(Equality {
            alphabet,
            length,
            variant,
            vocab: Vocab::new(names),
        })
    }

    /// N/2, the length of each half.
    pub fn half(&self) -> usize {
        self.length / 2
    }

    /// The variant.
    pub fn variant(&self) -> EqVariant {
        self.variant
    }

    /// The token of symbol `s` (`s < |Σ|`).
    pub fn symbol(&self, s: usize) -> Token {
        debug_assert!(s < self.alphabet);
        s as Token
    }

    /// The separator `|`.
    pub fn separator(&self) -> Token {
        self.alphabet as Token
    }

    /// The label of `a | b` (two halves of N/2 symbols).
    fn label_halves(&self, a: &[Token], b: &[Token]) -> Label {
        match self.variant {
            EqVariant::Random | EqVariant::One => Label::bit(a == b),
            EqVariant::Copy => {
                let h = self.half();
                let mut targets = vec![None; self.length + 1];
                for (j, &s) in a.iter().enumerate() {
                    targets[h + j] = Some(s);
                }
                Label::next_tokens(&self.vocab, targets)
            }
        }
    }

    fn assemble(&self, a: &[usize], b: &[usize]) -> Vec<Token> {
        a.iter()
            .map(|&s| self.symbol(s))
            .chain([self.separator()])
            .chain(b.iter().map(|&s| self.symbol(s)))
            .collect()
    }
}

impl Task for Equality {
    fn name(&self) -> &'static str {
        "equality"
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        let a: Vec<usize> = (0..self.half())
            .map(|_| rng.random_range(0..self.alphabet))
            .collect();
        let mut b = a.clone();
        match self.variant {
            EqVariant::Copy => {}
            EqVariant::Random => {
                if !rng.random_bool(0.5) {
                    b = (0..self.half())
                        .map(|_| rng.random_range(0..self.alphabet))
                        .collect();
                }
            }
            EqVariant::One => {
                if !rng.random_bool(0.5) {
                    let i = rng.random_range(0..self.half());
                    b[i] = (b[i] + rng.random_range(1..self.alphabet)) % self.alphabet;
                }
            }
        }
        let tokens = self.assemble(&a, &b);
        let h = self.half();
        let label = self.label_halves(&tokens[..h], &tokens[h + 1..]);
        Example::new(self.name(), &self.vocab, tokens, label)
    }

    fn label(&self, tokens: &[Token]) -> Result<Label, InputError> {
        self.vocab.check(tokens)?;
        let h = self.half();
        if tokens.len() != self.length + 1
            || tokens[h] != self.separator()
            || tokens
                .iter()
                .enumerate()
                .any(|(i, &t)| i != h && t == self.separator())
        {
            return Err(InputError::new(format!(
                "equality expects {h} symbols, |, then {h} symbols"
            )));
        }
        Ok(self.label_halves(&tokens[..h], &tokens[h + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::example_rng;

    #[test]
    fn classification_variants_are_labelled_and_balanced() {
        for (alphabet, n, variant) in [
            (2, 20, EqVariant::Random),
            (2, 20, EqVariant::One),
            (5, 8, EqVariant::One),
            (3, 2, EqVariant::Random),
        ] {
            let task = Equality::new(alphabet, n, variant).unwrap();
            let mut rng = example_rng(2, 0);
            let mut positives = 0;
            for _ in 0..1000 {
                let ex = task.generate(&mut rng);
                assert_eq!(ex.tokens.len(), n + 1);
                let (a, b) = (&ex.tokens[..n / 2], &ex.tokens[n / 2 + 1..]);
                assert_eq!(ex.label, Label::bit(a == b));
                let diff = a.iter().zip(b).filter(|(x, y)| x != y).count();
                if variant == EqVariant::One {
                    assert!(diff <= 1, "Eq-one differs in at most one position");
                }
                positives += usize::from(diff == 0);
            }
            // Eq-random with N/2 = 1 over 3 symbols: P(1) = 1/2 + 1/6.
            let expect = 500.0 * (1.0 + (alphabet as f64).powi(-(n as i32 / 2)));
            assert!(
                (positives as f64 - expect).abs() < 80.0,
                "{variant} {alphabet} {n}: {positives} vs {expect}"
            );
        }
    }

    #[test]
    fn copying_targets_the_first_half() {
        let task = Equality::new(3, 6, EqVariant::Copy).unwrap();
        let mut rng = example_rng(4, 0);
        for _ in 0..1000 {
            let ex = task.generate(&mut rng);
            let Label::NextTokens { targets, .. } = &ex.label else {
                panic!("copy labels are next-token targets")
            };
            assert_eq!(targets.len(), 7);
            for (t, target) in targets.iter().enumerate() {
                // Teacher forcing on a correct copy: the target is the next input token.
                let expected = (3..6).contains(&t).then(|| ex.tokens[t + 1]);
                assert_eq!(*target, expected);
            }
        }
        let seq = task.vocab().parse("012|210").unwrap();
        assert_eq!(task.label(&seq).unwrap().to_string(), "_ _ _ 0 1 2 _");
    }

    #[test]
    fn validates() {
        assert!(Equality::new(1, 4, EqVariant::Random).is_err());
        assert!(
            Equality::new(2, 5, EqVariant::Random)
                .unwrap_err()
                .message
                .contains("even")
        );
        assert!(Equality::new(2, 0, EqVariant::Random).is_err());
        assert!("two".parse::<EqVariant>().is_err());
        assert_eq!("one".parse::<EqVariant>().unwrap(), EqVariant::One);
        let t = Equality::new(2, 4, EqVariant::Random).unwrap();
        assert!(t.label(&[0, 1, 2, 0, 1]).unwrap().as_bit().unwrap());
        assert!(!t.label(&[0, 1, 2, 1, 1]).unwrap().as_bit().unwrap());
        assert!(t.label(&[0, 1, 0, 2, 1]).is_err());
        assert!(t.label(&[0, 2, 2, 0, 1]).is_err());
        assert!(t.label(&[0, 1, 2, 0]).is_err());
    }
}
