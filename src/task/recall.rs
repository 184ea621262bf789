//! Associative recall and multi-query associative recall (MQAR; Prop 9, Thm 8).
//!
//! A sequence is `k_1 v_1 k_2 v_2 … k_P v_P ? q_1 … q_Q`: P key–value pairs with distinct keys,
//! the query marker `?`, then Q query keys, each one of the keys above. The label is the value
//! paired with each query, in query order ([`Label::Symbols`]; one entry for single-query recall).
//!
//! Vocabulary: keys `k0 … k{K−1}` (tokens `0 … K−1`), values `v0 … v{V−1}` (tokens
//! `K … K+V−1`), and `?` (token `K+V`).
//!
//! Distribution (as in the MQAR benchmark; the paper gives none of its own): the P keys are
//! drawn without replacement from the K keys, in random order; the values uniformly and
//! independently; the Q queries are distinct keys of the sequence, drawn without replacement.

use rand::RngExt;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

use super::{Example, Label, Task, Token, Vocab, check_range, numbered};
use crate::error::InputError;

/// Associative recall with `keys` possible keys, `values` possible values, `pairs` key–value
/// pairs per sequence and `queries` queries.
#[derive(Clone, Debug)]
pub struct Recall {
    keys: usize,
    values: usize,
    pairs: usize,
    queries: usize,
    vocab: Vocab,
}

impl Recall {
    /// Requires `keys ≥ pairs ≥ 1` (keys in a sequence are distinct), `values ≥ 2` and
    /// `1 ≤ queries ≤ pairs` (queries are distinct).
    pub fn new(
        keys: usize,
        values: usize,
        pairs: usize,
        queries: usize,
    ) -> Result<Self, InputError> {
        check_range("recall: the number of pairs", pairs, 1)?;
        check_range("recall: the number of values", values, 2)?;
        check_range("recall: the number of keys", keys, 1)?;
        check_range("recall: the number of queries", queries, 1)?;
        if keys < pairs {
            return Err(InputError::new(format!(
                "recall: {pairs} pairs need at least {pairs} distinct keys, but there are {keys}"
            )));
        }
        if queries > pairs {
            return Err(InputError::new(format!(
                "recall: {queries} distinct queries need at least {queries} pairs, but there are {pairs}"
            )));
        }
        let names = numbered("k", keys)
            .chain(numbered("v", values))
            .chain(["?".to_string()])
            .collect();
        Ok(Recall {
            keys,
            values,
            pairs,
            queries,
            vocab: Vocab::new(names),
        })
    }

    /// Number of key–value pairs per generated sequence.
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// Number of queries per generated sequence.
    pub fn queries(&self) -> usize {
        self.queries
    }

    /// The token of key `i` (`i < keys`).
    pub fn key(&self, i: usize) -> Token {
        debug_assert!(i < self.keys);
        i as Token
    }

    /// The token of value `j` (`j < values`).
    pub fn value(&self, j: usize) -> Token {
        debug_assert!(j < self.values);
        (self.keys + j) as Token
    }

    /// The query marker `?`.
    pub fn marker(&self) -> Token {
        (self.keys + self.values) as Token
    }

    fn is_key(&self, t: Token) -> bool {
        (t as usize) < self.keys
    }

    fn is_value(&self, t: Token) -> bool {
        (self.keys..self.keys + self.values).contains(&(t as usize))
    }
}

impl Task for Recall {
    fn name(&self) -> &'static str {
        "recall"
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        let keys = index::sample(rng, self.keys, self.pairs).into_vec();
        let values: Vec<usize> = (0..self.pairs)
            .map(|_| rng.random_range(0..self.values))
            .collect();
        let asked = index::sample(rng, self.pairs, self.queries).into_vec();
        let mut tokens = Vec::with_capacity(2 * self.pairs + 1 + self.queries);
        for (&k, &v) in keys.iter().zip(&values) {
            tokens.extend([self.key(k), self.value(v)]);
        }
        tokens.push(self.marker());
        tokens.extend(asked.iter().map(|&p| self.key(keys[p])));
        let answers = asked.iter().map(|&p| self.value(values[p])).collect();
        Example::new(
            self.name(),
            &self.vocab,
            tokens,
            Label::symbols(&self.vocab, answers),
        )
    }

    /// Accepts any number of pairs (distinct keys) and of queries (each a key of a pair), so
    /// the reductions' sequences, whose query count depends on Bob's input, are labelled too.
    fn label(&self, tokens: &[Token]) -> Result<Label, InputError> {
        self.vocab.check(tokens)?;
        let marker = tokens
            .iter()
            .position(|&t| t == self.marker())
            .ok_or_else(|| InputError::new("recall: the sequence has no query marker ?"))?;
        let (pairs, queries) = (&tokens[..marker], &tokens[marker + 1..]);
        if pairs.len() % 2 == 1
            || pairs
                .chunks(2)
                .any(|kv| !self.is_key(kv[0]) || !self.is_value(kv[1]))
        {
            return Err(InputError::new(
                "recall: before ? the sequence must alternate key, value",
            ));
        }
        let mut table: Vec<Option<Token>> = vec![None; self.keys];
        for kv in pairs.chunks(2) {
            let slot = &mut table[kv[0] as usize];
            if slot.is_some() {
                return Err(InputError::new(format!(
                    "recall: key {} appears twice",
                    self.vocab.named(kv[0])
                )));
            }
            *slot = Some(kv[1]);
        }
        let answers = queries
            .iter()
            .map(|&q| {
                if !self.is_key(q) {
                    return Err(InputError::new("recall: after ? come only keys"));
                }
                table[q as usize].ok_or_else(|| {
                    InputError::new(format!(
                        "recall: query {} is not a key of the sequence",
                        self.vocab.named(q)
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Label::symbols(&self.vocab, answers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::example_rng;

    #[test]
    fn generated_examples_are_well_formed_and_labelled() {
        for (keys, values, pairs, queries) in [(8, 4, 8, 1), (20, 3, 6, 4), (5, 2, 5, 5)] {
            let task = Recall::new(keys, values, pairs, queries).unwrap();
            let mut rng = example_rng(5, 0);
            for _ in 0..1000 {
                let ex = task.generate(&mut rng);
                assert_eq!(ex.tokens.len(), 2 * pairs + 1 + queries);
                assert_eq!(task.label(&ex.tokens).unwrap(), ex.label);
                let Label::Symbols {
                    tokens: answers, ..
                } = &ex.label
                else {
                    panic!("recall answers are symbols")
                };
                assert_eq!(answers.len(), queries);
                // Brute force: the value right after the queried key.
                for (i, &q) in ex.tokens[2 * pairs + 1..].iter().enumerate() {
                    let at = ex.tokens[..2 * pairs].iter().position(|&t| t == q).unwrap();
                    assert_eq!(answers[i], ex.tokens[at + 1]);
                }
            }
        }
    }

    #[test]
    fn validates() {
        assert!(Recall::new(3, 4, 4, 1).is_err());
        assert!(Recall::new(4, 1, 4, 1).is_err());
        assert!(Recall::new(4, 2, 4, 5).is_err());
        assert!(Recall::new(4, 2, 4, 0).is_err());
        assert!(Recall::new(4, 2, 0, 0).is_err());
        let t = Recall::new(3, 2, 2, 1).unwrap();
        let (k0, k1, k2, v0, v1, m) = (0, 1, 2, 3, 4, 5);
        assert_eq!(t.vocab().render(&[k0, v1, m, k0]), "k0 v1 ? k0");
        assert_eq!(
            t.label(&[k0, v1, k1, v0, m, k1, k0]).unwrap().to_string(),
            "v0 v1"
        );
        assert!(t.label(&[k0, v1, k1, v0, m, k2]).is_err());
        assert!(t.label(&[k0, v1, k0, v0, m, k0]).is_err());
        assert!(t.label(&[k0, v1, k1]).is_err());
        assert!(t.label(&[k0, k1, m]).is_err());
        assert!(t.label(&[k0, v1, m, v1]).is_err());
    }
}
