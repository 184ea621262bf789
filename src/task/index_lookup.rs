//! Index lookup (Thm 1, Thm 3): read `s_0 … s_{N−1}`, then a position token `@q`; answer `s_q`.
//!
//! Vocabulary: the symbols `0 … |Σ|−1` (tokens `0 … |Σ|−1`), then the position tokens
//! `@0 … @{N−1}` (tokens `|Σ| + q`). Positions count from 0, as in `problem` (the paper counts
//! from 1). Distribution (the paper's experiments): every `s_i` and `q` uniform and independent.
//! With |Σ| = 2 a sequence is an INDEX_N instance: Alice holds the prefix, Bob the query.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{Example, Label, Task, Token, Vocab, check_range};
use crate::error::InputError;

/// Index lookup over an alphabet of `alphabet` symbols with `length` symbols before the query.
#[derive(Clone, Debug)]
pub struct IndexLookup {
    alphabet: usize,
    length: usize,
    vocab: Vocab,
}

impl IndexLookup {
    /// `alphabet` ≥ 2 symbols, `length` ≥ 1 positions.
    pub fn new(alphabet: usize, length: usize) -> Result<Self, InputError> {
        check_range("index lookup: the alphabet size |Σ|", alphabet, 2)?;
        check_range("index lookup: the length N", length, 1)?;
        let names = (0..alphabet)
            .map(|s| s.to_string())
            .chain((0..length).map(|q| format!("@{q}")))
            .collect();
        Ok(IndexLookup {
            alphabet,
            length,
            vocab: Vocab::new(names),
        })
    }

    /// |Σ|.
    pub fn alphabet(&self) -> usize {
        self.alphabet
    }

    /// N, the number of symbols before the query.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The token of symbol `s` (`s < |Σ|`).
    pub fn symbol(&self, s: usize) -> Token {
        debug_assert!(s < self.alphabet);
        s as Token
    }

    /// The token of the query `@q` (`q < N`).
    pub fn position(&self, q: usize) -> Token {
        debug_assert!(q < self.length);
        (self.alphabet + q) as Token
    }

    /// The sequence `s_0 … s_{N−1} @q`.
    pub fn sequence(&self, symbols: &[usize], q: usize) -> Result<Vec<Token>, InputError> {
        if symbols.len() != self.length || q >= self.length {
            return Err(InputError::new(format!(
                "index lookup takes {} symbols and a query below {}, got {} symbols and query {q}",
                self.length,
                self.length,
                symbols.len()
            )));
        }
        if let Some(s) = symbols.iter().find(|&&s| s >= self.alphabet) {
            return Err(InputError::new(format!(
                "symbol {s} is outside the alphabet of {}",
                self.alphabet
            )));
        }
        let mut tokens: Vec<Token> = symbols.iter().map(|&s| self.symbol(s)).collect();
        tokens.push(self.position(q));
        Ok(tokens)
    }
}

impl Task for IndexLookup {
    fn name(&self) -> &'static str {
        "index"
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        let symbols: Vec<usize> = (0..self.length)
            .map(|_| rng.random_range(0..self.alphabet))
            .collect();
        let q = rng.random_range(0..self.length);
        let tokens: Vec<Token> = symbols
            .iter()
            .map(|&s| self.symbol(s))
            .chain([self.position(q)])
            .collect();
        let label = Label::symbol(&self.vocab, self.symbol(symbols[q]));
        Example::new(self.name(), &self.vocab, tokens, label)
    }

    fn label(&self, tokens: &[Token]) -> Result<Label, InputError> {
        self.vocab.check(tokens)?;
        let form_error = || {
            InputError::new(format!(
                "index lookup expects {} symbols then one position token @q",
                self.length
            ))
        };
        let (&last, symbols) = tokens.split_last().ok_or_else(form_error)?;
        if symbols.len() != self.length
            || symbols.iter().any(|&t| t as usize >= self.alphabet)
            || (last as usize) < self.alphabet
        {
            return Err(form_error());
        }
        let q = last as usize - self.alphabet;
        Ok(Label::symbol(&self.vocab, symbols[q]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::example_rng;

    #[test]
    fn labels_are_the_queried_symbol() {
        let task = IndexLookup::new(5, 12).unwrap();
        let mut rng = example_rng(11, 0);
        let mut queried = [0usize; 12];
        for _ in 0..1000 {
            let ex = task.generate(&mut rng);
            assert_eq!(ex.tokens.len(), 13);
            let q = ex.tokens[12] as usize - 5;
            queried[q] += 1;
            assert_eq!(ex.label, Label::symbol(task.vocab(), ex.tokens[q]));
            assert_eq!(task.label(&ex.tokens).unwrap(), ex.label);
        }
        assert!(
            queried.iter().all(|&c| c > 40),
            "queries uniform: {queried:?}"
        );
    }

    #[test]
    fn validates() {
        assert!(IndexLookup::new(1, 4).is_err());
        assert!(IndexLookup::new(2, 0).is_err());
        let task = IndexLookup::new(2, 3).unwrap();
        assert!(task.sequence(&[0, 1], 0).is_err());
        assert!(task.sequence(&[0, 1, 2], 0).is_err());
        assert!(task.sequence(&[0, 1, 1], 3).is_err());
        let seq = task.sequence(&[0, 1, 1], 1).unwrap();
        assert_eq!(task.vocab().render(&seq), "0 1 1 @1");
        assert_eq!(task.label(&seq).unwrap().to_string(), "1");
        assert!(task.label(&seq[..3]).is_err());
        assert!(task.label(&[0, 1, 1, 1]).is_err());
        assert!(task.label(&[0, 1, 1, 9]).is_err());
    }
}
