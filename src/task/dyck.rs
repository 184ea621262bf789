//! Bounded Dyck languages Dyck-(k,m) (Lemma 1, Thm 5, appendix E).
//!
//! Dyck-(k,m) is the set of balanced strings over `k` bracket types in which no prefix has more
//! than `m` unclosed brackets. Vocabulary: bracket type `t` opens with token `2t` and closes with
//! token `2t+1`, named `( ) [ ] { } < >` (so `k ≤ 4`).
//!
//! - Membership: [`Dyck::is_member`] is the exact stack check; [`Dfa`] is the finite automaton
//!   (its states are the stacks of height ≤ m), with [`Dfa::dyck22`] the 7-state automaton of
//!   Dyck-(2,2) written out as an explicit table.
//! - Generator (the paper's experiments): with probability 1/2 a positive, drawn *uniformly* from
//!   the strings of length N in the language (by counting completions, so exactly uniform, not
//!   just "uniformly-ish"); otherwise a negative: a fresh uniform positive with `c ~ U{1 … max(1,
//!   ⌊N/10⌋)}` distinct positions corrupted, each by swapping its bracket type (probability 1/2,
//!   when k ≥ 2) or flipping open/close, kept only if the result is really outside the language
//!   (redrawn otherwise).
//! - [`enumerate`] lists every string of a given length; for Dyck-(2,2) these are the fooling set
//!   of Lemma 1 (see `reduction`).

use rand::RngExt;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

use super::{Example, Label, Task, Token, Vocab, check_even, check_range};
use crate::error::InputError;

/// Bracket names: type `t` is `(BRACKETS[2t], BRACKETS[2t+1])`.
const BRACKETS: [&str; 8] = ["(", ")", "[", "]", "{", "}", "<", ">"];

/// Most bracket types (there are four bracket shapes to name them by).
pub const MAX_TYPES: usize = 4;

/// Most entries of the completion-count table the generator keeps (N+1)·(min(m, N/2)+1).
const MAX_TABLE: usize = 1 << 23;

/// Most strings [`enumerate`] lists.
pub const MAX_ENUMERATED: u128 = 1 << 22;

/// Most states [`Dfa::for_dyck`] builds.
const MAX_DFA_STATES: usize = 1 << 16;

/// Dyck-(k,m) with the generator for strings of length N.
#[derive(Clone, Debug)]
pub struct Dyck {
    types: usize,
    depth: usize,
    length: usize,
    vocab: Vocab,
    /// `ln` of the number of ways to finish a string with `r` symbols left at height `d`, at
    /// `r·(cap+1) + d`, where `cap = min(m, N/2)`; `-∞` when there is none.
    log_completions: Vec<f64>,
}

fn check_types_depth(types: usize, depth: usize) -> Result<(), InputError> {
    if !(1..=MAX_TYPES).contains(&types) {
        return Err(InputError::new(format!(
            "Dyck: the number of bracket types k must be between 1 and {MAX_TYPES}, got {types}"
        )));
    }
    if depth < 1 {
        return Err(InputError::new(
            "Dyck: the depth bound m must be at least 1, got 0",
        ));
    }
    Ok(())
}

impl Dyck {
    /// Dyck-(`types`, `depth`) with strings of length `length`: `1 ≤ types ≤ 4`, `depth ≥ 1`,
    /// `length ≥ 2` and even (odd lengths have no balanced strings).
    /// Cost: O(N · min(m, N/2)) time and memory for the completion table.
    pub fn new(types: usize, depth: usize, length: usize) -> Result<Self, InputError> {
        check_types_depth(types, depth)?;
        check_range("Dyck: the length N", length, 2)?;
        check_even(
            "Dyck: the length N (balanced strings have even length)",
            length,
        )?;
        let cap = depth.min(length / 2);
        let width = cap + 1;
        if (length + 1).saturating_mul(width) > MAX_TABLE {
            return Err(InputError::new(format!(
                "Dyck: N = {length} with depth bound {depth} needs a table of {} entries \
                 (at most {MAX_TABLE}); choose a smaller N or m",
                (length + 1).saturating_mul(width)
            )));
        }
        let ln_k = (types as f64).ln();
        let mut table = vec![f64::NEG_INFINITY; (length + 1) * width];
        table[0] = 0.0;
        for r in 1..=length {
            for d in 0..=cap {
                let open = if d < cap {
                    ln_k + table[(r - 1) * width + d + 1]
                } else {
                    f64::NEG_INFINITY
                };
                let close = if d > 0 {
                    table[(r - 1) * width + d - 1]
                } else {
                    f64::NEG_INFINITY
                };
                table[r * width + d] = log_add(open, close);
            }
        }
        let names = BRACKETS[..2 * types]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Ok(Dyck {
            types,
            depth,
            length,
            vocab: Vocab::new(names),
            log_completions: table,
        })
    }

    /// k, the number of bracket types.
    pub fn types(&self) -> usize {
        self.types
    }

    /// m, the depth bound.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// N, the length of generated strings.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The opening bracket of type `t`.
    pub fn open(t: usize) -> Token {
        (2 * t) as Token
    }

    /// The closing bracket of type `t`.
    pub fn close(t: usize) -> Token {
        (2 * t + 1) as Token
    }

    /// Exact membership in Dyck-(k,m) (any length) by the stack check; an error for a token
    /// outside the vocabulary. O(length).
    pub fn is_member(&self, tokens: &[Token]) -> Result<bool, InputError> {
        self.vocab.check(tokens)?;
        Ok(stack_member(self.depth, tokens))
    }

    /// A uniformly random string of Dyck-(k,m) of length N.
    pub fn positive(&self, rng: &mut ChaCha8Rng) -> Vec<Token> {
        let width = self.depth.min(self.length / 2) + 1;
        let mut stack: Vec<usize> = Vec::with_capacity(width);
        let mut tokens = Vec::with_capacity(self.length);
        for pos in 0..self.length {
            let left = self.length - pos - 1;
            let d = stack.len();
            let open = if d + 1 < width {
                (self.types as f64).ln() + self.log_completions[left * width + d + 1]
            } else {
                f64::NEG_INFINITY
            };
            let close = match d {
                0 => f64::NEG_INFINITY,
                _ => self.log_completions[left * width + d - 1],
            };
            // P(open) = e^open / (e^open + e^close), computed without overflow.
            let p_open = 1.0 / (1.0 + (close - open).exp());
            let opens = match (open.is_finite(), close.is_finite()) {
                (true, true) => rng.random_bool(p_open.clamp(0.0, 1.0)),
                (false, true) => false,
                _ => true,
            };
            if opens {
                let t = rng.random_range(0..self.types);
                stack.push(t);
                tokens.push(Self::open(t));
            } else {
                let t = stack.pop().unwrap_or(0);
                tokens.push(Self::close(t));
            }
        }
        tokens
    }

    /// A negative as in the paper: a uniform positive with `c ~ U{1 … max(1, ⌊N/10⌋)}` positions
    /// corrupted, redrawn until it is outside the language. After 1000 draws that all landed in
    /// the language (which needs several corruptions to cancel each time) it flips one bracket
    /// of a positive between open and close, which always leaves the language (the number of
    /// opening brackets is then N/2 ± 1).
    pub fn negative(&self, rng: &mut ChaCha8Rng) -> Vec<Token> {
        let max_c = (self.length / 10).max(1);
        for _ in 0..1000 {
            let mut tokens = self.positive(rng);
            let c = rng.random_range(1..=max_c);
            for pos in index::sample(rng, self.length, c) {
                let t = tokens[pos];
                let (kind, closing) = (t as usize / 2, t % 2 == 1);
                tokens[pos] = if self.types >= 2 && rng.random_bool(0.5) {
                    let other = (kind + rng.random_range(1..self.types)) % self.types;
                    (2 * other) as Token + Token::from(closing)
                } else {
                    t ^ 1
                };
            }
            if !stack_member(self.depth, &tokens) {
                return tokens;
            }
        }
        let mut tokens = self.positive(rng);
        let pos = rng.random_range(0..self.length);
        tokens[pos] ^= 1;
        tokens
    }
}

fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if hi == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

/// The stack check: every closing bracket matches the innermost open one, the height never
/// exceeds `depth`, and the string ends balanced. Tokens must be brackets (`2t`, `2t+1`).
fn stack_member(depth: usize, tokens: &[Token]) -> bool {
    // The stack never holds more than the tokens read, whatever the bound m (which may be any
    // usize): reserving m itself would abort for a large m.
    let mut stack: Vec<Token> = Vec::with_capacity(depth.min(tokens.len()));
    for &t in tokens {
        if t % 2 == 0 {
            if stack.len() == depth {
                return false;
            }
            stack.push(t);
        } else if stack.pop() != Some(t - 1) {
            return false;
        }
    }
    stack.is_empty()
}

impl Task for Dyck {
    fn name(&self) -> &'static str {
        "dyck"
    }

    fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    fn generate(&self, rng: &mut ChaCha8Rng) -> Example {
        let member = rng.random_bool(0.5);
        let tokens = if member {
            self.positive(rng)
        } else {
            self.negative(rng)
        };
        Example::new(self.name(), &self.vocab, tokens, Label::bit(member))
    }

    /// Membership, for a bracket string of any length.
    fn label(&self, tokens: &[Token]) -> Result<Label, InputError> {
        self.is_member(tokens).map(Label::bit)
    }
}

/// Number of strings of Dyck-(`types`, `depth`) of length `length` (saturating at `u128::MAX`).
/// O(length · depth).
pub fn count_strings(types: usize, depth: usize, length: usize) -> u128 {
    let cap = depth.min(length / 2);
    let mut ways = vec![0u128; cap + 1];
    ways[0] = 1;
    for _ in 0..length {
        let mut next = vec![0u128; cap + 1];
        for d in 0..=cap {
            if d > 0 {
                next[d - 1] = next[d - 1].saturating_add(ways[d]);
            }
            if d < cap {
                next[d + 1] = next[d + 1].saturating_add(ways[d].saturating_mul(types as u128));
            }
        }
        ways = next;
    }
    ways[0]
}

/// Every string of Dyck-(`types`, `depth`) of length `length`, in lexicographic token order.
/// Refuses more than [`MAX_ENUMERATED`] strings. O(count · length).
pub fn enumerate(types: usize, depth: usize, length: usize) -> Result<Vec<Vec<Token>>, InputError> {
    check_types_depth(types, depth)?;
    let count = count_strings(types, depth, length);
    if count > MAX_ENUMERATED {
        return Err(InputError::new(format!(
            "Dyck-({types},{depth}) has {count} strings of length {length}: too many to list \
             (at most {MAX_ENUMERATED})"
        )));
    }
    let mut out = Vec::with_capacity(count as usize);
    let mut prefix = Vec::with_capacity(length);
    let mut stack = Vec::with_capacity(depth.min(length));
    extend(types, depth, length, &mut prefix, &mut stack, &mut out);
    Ok(out)
}

fn extend(
    types: usize,
    depth: usize,
    length: usize,
    prefix: &mut Vec<Token>,
    stack: &mut Vec<usize>,
    out: &mut Vec<Vec<Token>>,
) {
    let left = length - prefix.len();
    if left == 0 {
        if stack.is_empty() {
            out.push(prefix.clone());
        }
        return;
    }
    if stack.len() > left {
        return;
    }
    for t in 0..types {
        if stack.len() < depth {
            prefix.push(Dyck::open(t));
            stack.push(t);
            extend(types, depth, length, prefix, stack, out);
            stack.pop();
            prefix.pop();
        }
        if stack.last() == Some(&t) {
            prefix.push(Dyck::close(t));
            stack.pop();
            extend(types, depth, length, prefix, stack, out);
            stack.push(t);
            prefix.pop();
        }
    }
}

/// A deterministic finite automaton over bracket tokens with a partial transition table: a
/// missing transition (`None`) goes to an implicit rejecting sink state, which
/// [`num_states`](Self::num_states) does not count. The complete automaton has one more state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dfa {
    /// `transitions[q][s]`: the state after reading token `s` in state `q`.
    transitions: Vec<Vec<Option<usize>>>,
    start: usize,
    accepting: Vec<bool>,
}

impl Dfa {
    /// The automaton of Dyck-(2,2) (appendix E), written out. Tokens `( ) [ ]` are `0 1 2 3`;
    /// states are the unclosed brackets:
    ///
    /// | state | stack | `(` | `)` | `[` | `]` |
    /// |---|---|---|---|---|---|
    /// | 0 (start, accepting) | ε | 1 | – | 2 | – |
    /// | 1 | `(` | 3 | 0 | 4 | – |
    /// | 2 | `[` | 5 | – | 6 | 0 |
    /// | 3 | `((` | – | 1 | – | – |
    /// | 4 | `([` | – | – | – | 1 |
    /// | 5 | `[(` | – | 2 | – | – |
    /// | 6 | `[[` | – | – | – | 2 |
    ///
    /// "–" is the rejecting sink. The 7 states are pairwise distinguishable, so no automaton for
    /// Dyck-(2,2) has fewer live states (8 states counting the sink).
    pub fn dyck22() -> Self {
        const TABLE: [[Option<usize>; 4]; 7] = [
            [Some(1), None, Some(2), None],
            [Some(3), Some(0), Some(4), None],
            [Some(5), None, Some(6), Some(0)],
            [None, Some(1), None, None],
            [None, None, None, Some(1)],
            [None, Some(2), None, None],
            [None, None, None, Some(2)],
        ];
        let mut accepting = vec![false; TABLE.len()];
        accepting[0] = true;
        Dfa {
            transitions: TABLE.iter().map(|row| row.to_vec()).collect(),
            start: 0,
            accepting,
        }
    }

    /// The automaton of Dyck-(`types`, `depth`) built from its stacks (states numbered in
    /// breadth-first order, children in token order): `Σ_{i ≤ m} k^i` states. For (2,2) this is
    /// [`dyck22`](Self::dyck22) exactly.
    pub fn for_dyck(types: usize, depth: usize) -> Result<Self, InputError> {
        check_types_depth(types, depth)?;
        let mut states = 0usize;
        let mut layer = 1usize;
        for _ in 0..=depth {
            states = states.saturating_add(layer);
            layer = layer.saturating_mul(types);
            // Past the limit the count only grows: stop rather than loop up to m times.
            if states > MAX_DFA_STATES {
                break;
            }
        }
        if states > MAX_DFA_STATES {
            return Err(InputError::new(format!(
                "the automaton of Dyck-({types},{depth}) has {states} states (at most {MAX_DFA_STATES})"
            )));
        }
        let symbols = 2 * types;
        let mut stacks: Vec<Vec<usize>> = vec![Vec::new()];
        let mut transitions: Vec<Vec<Option<usize>>> = Vec::with_capacity(states);
        let mut parent: Vec<Option<usize>> = vec![None];
        let mut q = 0;
        while q < stacks.len() {
            let mut row = vec![None; symbols];
            if stacks[q].len() < depth {
                for (t, slot) in row.iter_mut().step_by(2).enumerate() {
                    let mut child = stacks[q].clone();
                    child.push(t);
                    *slot = Some(stacks.len());
                    stacks.push(child);
                    parent.push(Some(q));
                }
            }
            if let Some(&top) = stacks[q].last() {
                row[2 * top + 1] = parent[q];
            }
            transitions.push(row);
            q += 1;
        }
        let mut accepting = vec![false; stacks.len()];
        accepting[0] = true;
        Ok(Dfa {
            transitions,
            start: 0,
            accepting,
        })
    }

    /// Number of live states (the implicit sink not counted).
    pub fn num_states(&self) -> usize {
        self.transitions.len()
    }

    /// Number of input symbols.
    pub fn num_symbols(&self) -> usize {
        self.transitions.first().map_or(0, Vec::len)
    }

    /// The start state.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Whether `state` accepts.
    pub fn is_accepting(&self, state: usize) -> bool {
        self.accepting.get(state).copied().unwrap_or(false)
    }

    /// The transition table: `transitions()[q][s]`, `None` for the sink.
    pub fn transitions(&self) -> &[Vec<Option<usize>>] {
        &self.transitions
    }

    /// One step; `None` when the automaton falls into the sink (or `state`/`token` is out of
    /// range).
    pub fn step(&self, state: usize, token: Token) -> Option<usize> {
        self.transitions
            .get(state)?
            .get(token as usize)
            .copied()
            .flatten()
    }

    /// The state after reading `tokens` from the start; `None` for the sink.
    pub fn run(&self, tokens: &[Token]) -> Option<usize> {
        tokens.iter().try_fold(self.start, |q, &t| self.step(q, t))
    }

    /// Whether the automaton accepts `tokens`. O(length).
    pub fn accepts(&self, tokens: &[Token]) -> bool {
        self.run(tokens).is_some_and(|q| self.is_accepting(q))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::task::example_rng;

    /// All strings over `symbols` tokens of length `len`, as counters.
    fn all_strings(symbols: u32, len: usize) -> impl Iterator<Item = Vec<Token>> {
        let total = (symbols as u64).pow(len as u32);
        (0..total).map(move |mut i| {
            (0..len)
                .map(|_| {
                    let t = (i % symbols as u64) as Token;
                    i /= symbols as u64;
                    t
                })
                .collect()
        })
    }

    /// Oracle independent of the stack check: cancel adjacent matching pairs until none is
    /// left (the string is balanced iff this empties it), and take the height as the largest
    /// excess of opening over closing brackets in a prefix.
    fn oracle(depth: usize, s: &[Token]) -> bool {
        let mut w = s.to_vec();
        loop {
            let at = w.windows(2).position(|p| p[0] % 2 == 0 && p[1] == p[0] + 1);
            match at {
                Some(i) => {
                    w.drain(i..i + 2);
                }
                None => break,
            }
        }
        let mut height = 0i64;
        let mut max = 0;
        for &t in s {
            height += if t % 2 == 0 { 1 } else { -1 };
            max = max.max(height);
        }
        w.is_empty() && max <= depth as i64
    }

    #[test]
    fn membership_matches_brute_force_and_enumeration() {
        for (types, depth) in [(2usize, 2usize), (1, 3)] {
            let dyck = Dyck::new(types, depth, 2).unwrap();
            for len in 0..=10 {
                let mut members = BTreeSet::new();
                for s in all_strings(2 * types as u32, len) {
                    let m = dyck.is_member(&s).unwrap();
                    assert_eq!(m, oracle(depth, &s), "({types},{depth}) {s:?}");
                    if m {
                        members.insert(s);
                    }
                }
                let listed = enumerate(types, depth, len).unwrap();
                assert_eq!(listed.len(), members.len());
                assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), members);
                assert_eq!(count_strings(types, depth, len), members.len() as u128);
            }
        }
    }

    #[test]
    fn dyck22_counts_are_two_to_the_n_minus_one() {
        assert_eq!(count_strings(2, 2, 0), 1);
        for n in (2..=40).step_by(2) {
            assert_eq!(count_strings(2, 2, n), 1u128 << (n - 1), "N = {n}");
            assert_eq!(count_strings(2, 2, n - 1), 0);
        }
    }

    #[test]
    fn explicit_dfa_has_seven_states_and_is_the_stack_automaton() {
        let dfa = Dfa::dyck22();
        assert_eq!(dfa.num_states(), 7);
        assert_eq!(dfa.num_symbols(), 4);
        assert_eq!(dfa, Dfa::for_dyck(2, 2).unwrap());
        assert_eq!(Dfa::for_dyck(1, 3).unwrap().num_states(), 4);
        assert_eq!(Dfa::for_dyck(3, 2).unwrap().num_states(), 13);
        // Minimal: every pair of live states is told apart by some suffix of length ≤ 4, and
        // every live state differs from the sink (it has an accepting continuation).
        let suffixes: Vec<Vec<Token>> = (0..=4).flat_map(|l| all_strings(4, l)).collect();
        let accepts_from = |q: usize, w: &[Token]| {
            w.iter()
                .try_fold(q, |q, &t| dfa.step(q, t))
                .is_some_and(|q| dfa.is_accepting(q))
        };
        for p in 0..7 {
            assert!(suffixes.iter().any(|w| accepts_from(p, w)));
            for q in p + 1..7 {
                assert!(
                    suffixes
                        .iter()
                        .any(|w| accepts_from(p, w) != accepts_from(q, w)),
                    "states {p} and {q}"
                );
            }
        }
    }

    #[test]
    fn dfa_agrees_with_the_stack_check_up_to_length_12() {
        let dyck = Dyck::new(2, 2, 2).unwrap();
        let dfa = Dfa::dyck22();
        let dfa13 = Dfa::for_dyck(1, 3).unwrap();
        let dyck13 = Dyck::new(1, 3, 2).unwrap();
        for len in 0..=12 {
            for s in all_strings(4, len) {
                assert_eq!(dfa.accepts(&s), dyck.is_member(&s).unwrap(), "{s:?}");
            }
            for s in all_strings(2, len) {
                assert_eq!(dfa13.accepts(&s), dyck13.is_member(&s).unwrap(), "{s:?}");
            }
        }
        assert!(!dfa.accepts(&[7]));
        assert!(dyck.is_member(&[7]).is_err());
    }

    #[test]
    fn generator_labels_are_correct_and_balanced() {
        for (types, depth, n) in [(2, 2, 20), (1, 3, 16), (3, 4, 40), (2, 2, 2), (4, 10, 100)] {
            let dyck = Dyck::new(types, depth, n).unwrap();
            let mut rng = example_rng(3, 1);
            let mut positives = 0;
            for _ in 0..1000 {
                let ex = dyck.generate(&mut rng);
                assert_eq!(ex.tokens.len(), n);
                let member = oracle(depth, &ex.tokens);
                assert_eq!(ex.label, Label::bit(member), "{}", ex.text);
                positives += usize::from(member);
            }
            assert!(
                (400..=600).contains(&positives),
                "({types},{depth},{n}): {positives}"
            );
        }
    }

    #[test]
    fn positives_are_uniform() {
        let dyck = Dyck::new(2, 2, 6).unwrap();
        let all = enumerate(2, 2, 6).unwrap();
        assert_eq!(all.len(), 32);
        let mut rng = example_rng(9, 0);
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..32_000 {
            *seen.entry(dyck.positive(&mut rng)).or_insert(0usize) += 1;
        }
        assert_eq!(seen.len(), 32);
        assert!(
            seen.values().all(|&c| (800..=1200).contains(&c)),
            "{seen:?}"
        );
    }

    #[test]
    fn long_strings_with_deep_bounds_stay_valid() {
        let dyck = Dyck::new(2, 1000, 4000).unwrap();
        let mut rng = example_rng(1, 0);
        for _ in 0..5 {
            assert!(stack_member(1000, &dyck.positive(&mut rng)));
            assert!(!stack_member(1000, &dyck.negative(&mut rng)));
        }
    }

    #[test]
    fn validates() {
        assert!(Dyck::new(0, 2, 4).is_err());
        assert!(Dyck::new(5, 2, 4).is_err());
        assert!(
            Dyck::new(2, 0, 4)
                .unwrap_err()
                .message
                .contains("m must be at least 1")
        );
        assert!(Dyck::new(2, 2, 5).unwrap_err().message.contains("even"));
        assert!(Dyck::new(2, 2, 0).is_err());
        assert!(Dyck::new(2, 1 << 20, 1 << 20).is_err());
        assert!(enumerate(2, 2, 60).is_err());
        assert!(Dfa::for_dyck(4, 30).is_err());
    }

    /// The depth bound m is any usize (`--depth` at its largest): nothing reserves m itself,
    /// and m above N/2 is the same language as m = N/2 on strings of length N.
    #[test]
    fn the_largest_depth_bound_neither_reserves_nor_loops() {
        for m in [u32::MAX as usize, usize::MAX] {
            let dyck = Dyck::new(2, m, 8).unwrap();
            let same = Dyck::new(2, 4, 8).unwrap();
            for i in 0..20 {
                let ex = dyck.generate(&mut example_rng(3, i));
                assert_eq!(ex, same.generate(&mut example_rng(3, i)));
                assert_eq!(dyck.label(&ex.tokens).unwrap(), ex.label);
            }
            assert_eq!(enumerate(2, m, 8).unwrap(), enumerate(2, 4, 8).unwrap());
            assert!(Dfa::for_dyck(1, m).is_err());
            assert!(Dfa::for_dyck(2, m).is_err());
        }
    }
}
