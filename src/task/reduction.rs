//! Reductions: a communication instance `(x, y)` becomes a token sequence of a task, with the
//! party that owns each position.
//!
//! Inputs follow `problem`: `n`-bit strings as integers, bit `i` of `x` is `x_i`; INDEX's Bob
//! input is a position `i < n`. A position is owned by Alice (its token depends only on `x`), by
//! Bob (only on `y`), or is public (fixed: separators, the query marker). A model on the
//! sequence becomes a protocol for `f`: an RNN when Alice's positions all come before Bob's
//! (prefix / suffix, Thm 2), a one-layer Transformer for any partition (Thm 4).
//!
//! | kind | task | problem | Alice | Bob | `f` from the task's label |
//! |---|---|---|---|---|---|
//! | `index-lookup` | index lookup, \|Σ\| = 2, N = n | INDEX_n | `x_0 … x_{n−1}` | `@i` | the symbol, `1` ⇔ f = 1 |
//! | `recall-index` | recall, n pairs, 1 query | INDEX_n | `k_j v_{x_j}` for all j | `k_i` | the value, `v1` ⇔ f = 1 |
//! | `equality` | equality, \|Σ\| = 2, N = 2n | EQ_n | `x` (first half) | `y` (second half) | the bit (EQ; INEQ = its negation) |
//! | `mqar` | recall, n pairs, queries `{i : y_i = 1}` | DISJ_n | `k_j v_{x_j}` for all j | `k_i` for each `i` with `y_i = 1`, increasing | f = 1 ⇔ no answer is `v1` |
//! | `disjointness` | disjointness, N = 2n | DISJ_n | `x` | `y` | the bit |
//! | `dyck-odd-even` | Dyck-(2,2), N = n | `[w ∈ Dyck-(2,2)]` | positions 1, 3, 5, … (1-based) | positions 2, 4, … | the bit |
//! | `dyck-halves` | Dyck-(2,2), N = n | `[w ∈ Dyck-(2,2)]` | the first N/2 brackets | the last N/2 | the bit |
//!
//! In `mqar` the number of queries is `|y|`, so the length of the sequence depends on `y` (with
//! no query when `y = 0`: the empty answer, and the sets are disjoint). For the Dyck reductions
//! the parties' inputs are their `N/2` brackets, two bits each (`( ) [ ]` = 0 1 2 3), bracket `j`
//! of a party in bits `2j, 2j+1`; `f` is membership of the whole string (there is no
//! `ProblemSpec` for it), and [`odd_even_fooling_set`] is Lemma 1's fooling set. `dyck-halves`
//! is the contiguous split, where a recurrent model needs only its automaton's state.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::Serialize;

use super::{
    AnyTask, Disjointness, Dyck, EqVariant, Equality, IndexLookup, Label, Recall, Task, Token, dyck,
};
use crate::error::InputError;
use crate::problem::ProblemSpec;

/// Largest `n` for the bit-string problems (as `problem`).
pub const MAX_N: u32 = 40;

/// Largest string length for `dyck-odd-even` (each party then has `4^20 = 2^40` inputs).
pub const MAX_DYCK_LENGTH: u32 = 40;

/// Who holds a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Alice,
    Bob,
    /// Known to both: the same token for every input.
    Public,
}

/// A reduced instance: the tokens and the owner of each position (same length).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Instance {
    pub tokens: Vec<Token>,
    pub owners: Vec<Owner>,
}

impl Instance {
    /// Whether no Alice position comes after a Bob position: the split an RNN protocol needs
    /// (public positions may sit anywhere; whoever reaches them feeds them).
    pub fn is_prefix_suffix(&self) -> bool {
        is_prefix_suffix(&self.owners)
    }
}

/// Whether no Alice position comes after a Bob position.
pub fn is_prefix_suffix(owners: &[Owner]) -> bool {
    let first_bob = owners.iter().position(|&o| o == Owner::Bob);
    let last_alice = owners.iter().rposition(|&o| o == Owner::Alice);
    match (last_alice, first_bob) {
        (Some(a), Some(b)) => a < b,
        _ => true,
    }
}

/// Which reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReductionKind {
    /// Index lookup ← INDEX (Thm 3).
    IndexLookup,
    /// Single-query associative recall ← INDEX (Prop 9).
    RecallIndex,
    /// Equality ← EQ (Thm 11, 12).
    Equality,
    /// Multi-query associative recall ← DISJ (Thm 8).
    Mqar,
    /// Disjointness ← DISJ.
    Disjointness,
    /// Dyck-(2,2) with Alice on the odd and Bob on the even positions (Lemma 1, Thm 5).
    DyckOddEven,
    /// Dyck-(2,2) with Alice on the first half and Bob on the second (App. E: easy for RNNs).
    DyckHalves,
}

impl ReductionKind {
    /// Every reduction.
    pub const ALL: [ReductionKind; 7] = [
        ReductionKind::IndexLookup,
        ReductionKind::RecallIndex,
        ReductionKind::Equality,
        ReductionKind::Mqar,
        ReductionKind::Disjointness,
        ReductionKind::DyckOddEven,
        ReductionKind::DyckHalves,
    ];

    /// A Dyck-(2,2) reduction (its size is the string length, its inputs bracket codes).
    pub fn is_dyck(self) -> bool {
        matches!(self, ReductionKind::DyckOddEven | ReductionKind::DyckHalves)
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ReductionKind::IndexLookup => "index-lookup",
            ReductionKind::RecallIndex => "recall-index",
            ReductionKind::Equality => "equality",
            ReductionKind::Mqar => "mqar",
            ReductionKind::Disjointness => "disjointness",
            ReductionKind::DyckOddEven => "dyck-odd-even",
            ReductionKind::DyckHalves => "dyck-halves",
        }
    }
}

impl fmt::Display for ReductionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReductionKind {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, InputError> {
        let s = s.to_ascii_lowercase();
        ReductionKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                InputError::new(format!(
                    "unknown reduction {s:?}: choose one of {}",
                    ReductionKind::ALL.map(ReductionKind::name).join(", ")
                ))
            })
    }
}

/// The task a reduction targets, typed.
#[derive(Clone, Debug)]
enum Target {
    IndexLookup(IndexLookup),
    Recall(Recall),
    Equality(Equality),
    Disjointness(Disjointness),
    Dyck(Dyck),
}

/// A reduction of one kind at one size, valid by construction.
#[derive(Clone, Debug)]
pub struct Reduction {
    kind: ReductionKind,
    n: u32,
    target: Target,
    problem: Option<ProblemSpec>,
}

impl Reduction {
    /// The reduction `kind` for size `n`: the number of bits `1 ≤ n ≤ 40` for INDEX / EQ / DISJ,
    /// the string length N (even, `2 ≤ N ≤ 40`) for the Dyck reductions.
    pub fn new(kind: ReductionKind, n: u32) -> Result<Self, InputError> {
        let bits = n as usize;
        if kind.is_dyck() {
            if !(2..=MAX_DYCK_LENGTH).contains(&n) || n % 2 == 1 {
                return Err(InputError::new(format!(
                    "{kind}: the length N must be even and between 2 and {MAX_DYCK_LENGTH}, got {n}"
                )));
            }
        } else if !(1..=MAX_N).contains(&n) {
            return Err(InputError::new(format!(
                "{kind}: n must be between 1 and {MAX_N}, got {n}"
            )));
        }
        let (target, problem) = match kind {
            ReductionKind::IndexLookup => (
                Target::IndexLookup(IndexLookup::new(2, bits)?),
                Some(ProblemSpec::Index { n }),
            ),
            ReductionKind::RecallIndex => (
                Target::Recall(Recall::new(bits, 2, bits, 1)?),
                Some(ProblemSpec::Index { n }),
            ),
            ReductionKind::Equality => (
                Target::Equality(Equality::new(2, 2 * bits, EqVariant::Random)?),
                Some(ProblemSpec::Eq { n }),
            ),
            ReductionKind::Mqar => (
                Target::Recall(Recall::new(bits, 2, bits, bits)?),
                Some(ProblemSpec::Disj { n }),
            ),
            ReductionKind::Disjointness => (
                Target::Disjointness(Disjointness::new(2 * bits)?),
                Some(ProblemSpec::Disj { n }),
            ),
            ReductionKind::DyckOddEven | ReductionKind::DyckHalves => {
                (Target::Dyck(Dyck::new(2, 2, bits)?), None)
            }
        };
        Ok(Reduction {
            kind,
            n,
            target,
            problem,
        })
    }

    /// The kind.
    pub fn kind(&self) -> ReductionKind {
        self.kind
    }

    /// The size: bits per party, or the Dyck string length.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// The communication problem reduced from; `None` for the Dyck reductions, whose `f` is
    /// membership itself ([`value`](Self::value)).
    pub fn problem(&self) -> Option<&ProblemSpec> {
        self.problem.as_ref()
    }

    /// The task the sequences belong to (its `label` is the ground truth on them).
    pub fn task(&self) -> AnyTask {
        match &self.target {
            Target::IndexLookup(t) => AnyTask::IndexLookup(t.clone()),
            Target::Recall(t) => AnyTask::Recall(t.clone()),
            Target::Equality(t) => AnyTask::Equality(t.clone()),
            Target::Disjointness(t) => AnyTask::Disjointness(t.clone()),
            Target::Dyck(t) => AnyTask::Dyck(t.clone()),
        }
    }

    fn discrete(&self) -> &dyn Task {
        match &self.target {
            Target::IndexLookup(t) => t,
            Target::Recall(t) => t,
            Target::Equality(t) => t,
            Target::Disjointness(t) => t,
            Target::Dyck(t) => t,
        }
    }

    /// Bits per bracket code in `dyck-odd-even`.
    const DYCK_CODE: u32 = 2;

    /// Every input of Alice: `0 .. 2^n`, or `0 .. 4^(N/2)` for the Dyck reductions.
    pub fn alice_inputs(&self) -> Range<u64> {
        if self.kind.is_dyck() {
            0..1u64 << (Self::DYCK_CODE * self.n / 2)
        } else {
            0..1u64 << self.n
        }
    }

    /// Every input of Bob: `0 .. n` for INDEX (a position), else as [`alice_inputs`](Self::alice_inputs).
    pub fn bob_inputs(&self) -> Range<u64> {
        match self.kind {
            ReductionKind::IndexLookup | ReductionKind::RecallIndex => 0..u64::from(self.n),
            _ => self.alice_inputs(),
        }
    }

    fn check_inputs(&self, x: u64, y: u64) -> Result<(), InputError> {
        let (a, b) = (self.alice_inputs(), self.bob_inputs());
        if a.contains(&x) && b.contains(&y) {
            Ok(())
        } else {
            Err(InputError::new(format!(
                "{} with n = {}: Alice's input must be below {} and Bob's below {}, got ({x}, {y})",
                self.kind, self.n, a.end, b.end
            )))
        }
    }

    /// `f(x, y)`: the problem's value, or Dyck-(2,2) membership of the interleaved string (by
    /// the explicit 7-state automaton, independently of the task's stack check).
    pub fn value(&self, x: u64, y: u64) -> Result<bool, InputError> {
        self.check_inputs(x, y)?;
        match &self.problem {
            Some(p) => p
                .value(x, y)
                .ok_or_else(|| InputError::new("the problem has no closed-form value")),
            None => Ok(dyck::Dfa::dyck22().accepts(&self.instance(x, y)?.tokens)),
        }
    }

    /// The sequence of `(x, y)` and the owner of each position. O(length).
    pub fn instance(&self, x: u64, y: u64) -> Result<Instance, InputError> {
        self.check_inputs(x, y)?;
        let n = self.n as usize;
        let bit = |v: u64, i: usize| (v >> i) & 1 == 1;
        let mut tokens = Vec::new();
        let mut owners = Vec::new();
        let mut put = |t: Token, o: Owner| {
            tokens.push(t);
            owners.push(o);
        };
        match &self.target {
            Target::IndexLookup(t) => {
                for i in 0..n {
                    put(t.symbol(usize::from(bit(x, i))), Owner::Alice);
                }
                put(t.position(y as usize), Owner::Bob);
            }
            Target::Recall(t) => {
                for j in 0..n {
                    put(t.key(j), Owner::Alice);
                    put(t.value(usize::from(bit(x, j))), Owner::Alice);
                }
                put(t.marker(), Owner::Public);
                if self.kind == ReductionKind::RecallIndex {
                    put(t.key(y as usize), Owner::Bob);
                } else {
                    for i in (0..n).filter(|&i| bit(y, i)) {
                        put(t.key(i), Owner::Bob);
                    }
                }
            }
            Target::Equality(t) => {
                for i in 0..n {
                    put(t.symbol(usize::from(bit(x, i))), Owner::Alice);
                }
                put(t.separator(), Owner::Public);
                for i in 0..n {
                    put(t.symbol(usize::from(bit(y, i))), Owner::Bob);
                }
            }
            Target::Disjointness(_) => {
                for i in 0..n {
                    put(Disjointness::bit(bit(x, i)), Owner::Alice);
                }
                put(Disjointness::separator(), Owner::Public);
                for i in 0..n {
                    put(Disjointness::bit(bit(y, i)), Owner::Bob);
                }
            }
            Target::Dyck(_) => {
                let code = |v: u64, j: usize| ((v >> (2 * j)) & 3) as Token;
                if self.kind == ReductionKind::DyckHalves {
                    for j in 0..n / 2 {
                        put(code(x, j), Owner::Alice);
                    }
                    for j in 0..n / 2 {
                        put(code(y, j), Owner::Bob);
                    }
                } else {
                    for j in 0..n / 2 {
                        put(code(x, j), Owner::Alice);
                        put(code(y, j), Owner::Bob);
                    }
                }
            }
        }
        Ok(Instance { tokens, owners })
    }

    /// The task's label that the sequence of `(x, y)` must have, computed from `f` and the
    /// inputs alone (not from the sequence); see the table in the module documentation.
    pub fn expected(&self, x: u64, y: u64) -> Result<Label, InputError> {
        let f = self.value(x, y)?;
        let n = self.n as usize;
        let vocab = self.discrete().vocab();
        Ok(match &self.target {
            Target::IndexLookup(t) => Label::symbol(vocab, t.symbol(usize::from(f))),
            Target::Recall(t) if self.kind == ReductionKind::RecallIndex => {
                Label::symbols(vocab, vec![t.value(usize::from(f))])
            }
            Target::Recall(t) => {
                let answers = (0..n)
                    .filter(|&i| (y >> i) & 1 == 1)
                    .map(|i| t.value(((x >> i) & 1) as usize))
                    .collect();
                Label::symbols(vocab, answers)
            }
            Target::Equality(_) | Target::Disjointness(_) | Target::Dyck(_) => Label::bit(f),
        })
    }

    /// Reads `f` off a label of the task (a model's answer, say): `None` when the label is not
    /// of the task's kind.
    pub fn decode(&self, label: &Label) -> Option<bool> {
        match (&self.target, label) {
            (Target::IndexLookup(t), Label::Symbol { token, .. }) => Some(*token == t.symbol(1)),
            (Target::Recall(t), Label::Symbols { tokens, .. }) => match self.kind {
                ReductionKind::RecallIndex => match tokens.as_slice() {
                    [v] => Some(*v == t.value(1)),
                    _ => None,
                },
                _ => Some(!tokens.contains(&t.value(1))),
            },
            (Target::Equality(_) | Target::Disjointness(_) | Target::Dyck(_), l) => l.as_bit(),
            _ => None,
        }
    }

    /// Whether every instance splits as Alice prefix / Bob suffix (all but `dyck-odd-even`,
    /// which alternates from N = 4 on).
    pub fn is_prefix_suffix(&self) -> bool {
        self.kind != ReductionKind::DyckOddEven
    }
}

/// The inputs `(x, y)` of `dyck-odd-even` whose interleaving is `tokens` (a string of `( ) [ ]`
/// of even length ≤ 40).
pub fn split_odd_even(tokens: &[Token]) -> Result<(u64, u64), InputError> {
    if tokens.len() % 2 == 1
        || tokens.len() > MAX_DYCK_LENGTH as usize
        || tokens.iter().any(|&t| t > 3)
    {
        return Err(InputError::new(
            "dyck-odd-even: expected an even number (at most 40) of brackets ( ) [ ]",
        ));
    }
    let mut x = 0u64;
    let mut y = 0u64;
    for (j, pair) in tokens.chunks(2).enumerate() {
        x |= u64::from(pair[0]) << (2 * j);
        y |= u64::from(pair[1]) << (2 * j);
    }
    Ok((x, y))
}

/// Lemma 1's fooling set for Dyck-(2,2) of length N split odd / even: the inputs `(x, y)` of
/// every string of the language, in lexicographic order of the strings. Its size is
/// `2^(N−1)` for even N ≥ 2 (checked by brute force for N ≤ 12 in the tests, and by counting up
/// to N = 40); distinct strings have distinct `x` (and distinct `y`), so for two of them at least
/// one cross pair — in fact both — falls outside the language. O(2^N · N); N ≤ 22.
pub fn odd_even_fooling_set(length: usize) -> Result<Vec<(u64, u64)>, InputError> {
    if length % 2 == 1 || length < 2 {
        return Err(InputError::new(format!(
            "the fooling set needs an even length N ≥ 2, got {length}"
        )));
    }
    dyck::enumerate(2, 2, length)?
        .iter()
        .map(|w| split_odd_even(w))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn view(inst: &Instance, who: Owner) -> Vec<(usize, Token)> {
        inst.owners
            .iter()
            .zip(&inst.tokens)
            .enumerate()
            .filter(|(_, (o, _))| **o == who)
            .map(|(i, (_, t))| (i, *t))
            .collect()
    }

    #[test]
    fn reductions_are_exact_on_every_instance() {
        for kind in ReductionKind::ALL {
            let sizes: &[u32] = match kind {
                ReductionKind::DyckOddEven | ReductionKind::DyckHalves => &[2, 4, 6, 8],
                ReductionKind::IndexLookup | ReductionKind::RecallIndex => &[1, 2, 3, 6],
                _ => &[1, 2, 3, 5],
            };
            for &n in sizes {
                let r = Reduction::new(kind, n).unwrap();
                let task = r.task();
                let (x0, y0) = (r.alice_inputs().start, r.bob_inputs().start);
                let mut seen = [0usize; 2];
                for x in r.alice_inputs() {
                    for y in r.bob_inputs() {
                        let inst = r.instance(x, y).unwrap();
                        assert_eq!(inst.tokens.len(), inst.owners.len());
                        let label = task.label(&inst.tokens, &[]).unwrap();
                        let expected = r.expected(x, y).unwrap();
                        assert_eq!(label, expected, "{kind} n={n} ({x},{y})");
                        let f = r.value(x, y).unwrap();
                        assert_eq!(r.decode(&label), Some(f), "{kind} n={n} ({x},{y})");
                        if let Some(p) = r.problem() {
                            assert_eq!(p.value(x, y), Some(f));
                        }
                        seen[usize::from(f)] += 1;
                        // Owners are honest: Alice's view depends on x only, Bob's on y only.
                        let other_y = r.instance(x, y0).unwrap();
                        let other_x = r.instance(x0, y).unwrap();
                        assert_eq!(view(&inst, Owner::Alice), view(&other_y, Owner::Alice));
                        assert_eq!(view(&inst, Owner::Bob), view(&other_x, Owner::Bob));
                        assert_eq!(view(&inst, Owner::Public), view(&other_x, Owner::Public));
                        if r.is_prefix_suffix() {
                            assert!(inst.is_prefix_suffix());
                        } else if n >= 4 {
                            assert!(!inst.is_prefix_suffix());
                        }
                    }
                }
                assert!(
                    seen[0] > 0 && seen[1] > 0,
                    "{kind} n={n}: both answers occur"
                );
            }
        }
    }

    #[test]
    fn known_instances() {
        let r = Reduction::new(ReductionKind::IndexLookup, 4).unwrap();
        let inst = r.instance(0b0110, 2).unwrap();
        assert_eq!(r.task().vocab().render(&inst.tokens), "0 1 1 0 @2");
        let r = Reduction::new(ReductionKind::Mqar, 3).unwrap();
        let inst = r.instance(0b011, 0b110).unwrap();
        assert_eq!(
            r.task().vocab().render(&inst.tokens),
            "k0 v1 k1 v1 k2 v0 ? k1 k2"
        );
        assert_eq!(r.expected(0b011, 0b110).unwrap().to_string(), "v1 v0");
        assert!(!r.value(0b011, 0b110).unwrap());
        assert_eq!(r.instance(5, 0).unwrap().tokens.len(), 7);
        let r = Reduction::new(ReductionKind::DyckOddEven, 4).unwrap();
        let (x, y) = split_odd_even(&r.task().vocab().parse("([])").unwrap()).unwrap();
        let inst = r.instance(x, y).unwrap();
        assert_eq!(r.task().vocab().render(&inst.tokens), "([])");
        assert_eq!(
            inst.owners,
            [Owner::Alice, Owner::Bob, Owner::Alice, Owner::Bob]
        );
        assert!(!inst.is_prefix_suffix());
        assert!(r.value(x, y).unwrap());
        let r = Reduction::new(ReductionKind::Equality, 2).unwrap();
        assert_eq!(
            r.task().vocab().render(&r.instance(1, 2).unwrap().tokens),
            "10|01"
        );
    }

    #[test]
    fn bad_sizes_and_inputs_are_errors() {
        assert!(Reduction::new(ReductionKind::Equality, 0).is_err());
        assert!(Reduction::new(ReductionKind::Equality, 41).is_err());
        assert!(Reduction::new(ReductionKind::DyckOddEven, 5).is_err());
        assert!(Reduction::new(ReductionKind::DyckOddEven, 42).is_err());
        let r = Reduction::new(ReductionKind::IndexLookup, 3).unwrap();
        assert!(r.instance(8, 0).is_err());
        assert!(r.instance(0, 3).is_err());
        assert!(r.expected(0, 3).is_err());
        assert!(r.value(9, 0).is_err());
        assert!("nope".parse::<ReductionKind>().is_err());
        for k in ReductionKind::ALL {
            assert_eq!(k.name().parse::<ReductionKind>().unwrap(), k);
        }
        assert!(odd_even_fooling_set(5).is_err());
        assert!(odd_even_fooling_set(40).is_err());
        assert!(split_odd_even(&[0, 1, 4, 1]).is_err());
    }

    /// Lemma 1, by brute force over every pair of half-strings: the language has exactly
    /// 2^(N−1) strings of length N, and each party's half determines the other's.
    #[test]
    fn lemma_1_by_brute_force() {
        for n in (2..=12u32).step_by(2) {
            let r = Reduction::new(ReductionKind::DyckOddEven, n).unwrap();
            let dfa = dyck::Dfa::dyck22();
            let size = r.alice_inputs().end as usize;
            let mut per_x = vec![0u32; size];
            let mut per_y = vec![0u32; size];
            let mut total = 0u64;
            let mut tokens = vec![0; n as usize];
            for x in r.alice_inputs() {
                for y in r.bob_inputs() {
                    for j in 0..n as usize / 2 {
                        tokens[2 * j] = ((x >> (2 * j)) & 3) as Token;
                        tokens[2 * j + 1] = ((y >> (2 * j)) & 3) as Token;
                    }
                    if dfa.accepts(&tokens) {
                        per_x[x as usize] += 1;
                        per_y[y as usize] += 1;
                        total += 1;
                    }
                }
            }
            assert_eq!(total, 1 << (n - 1), "N = {n}");
            assert!(
                per_x.iter().all(|&c| c <= 1),
                "N = {n}: odd positions fix the even ones"
            );
            assert!(
                per_y.iter().all(|&c| c <= 1),
                "N = {n}: even positions fix the odd ones"
            );
            let fooling = odd_even_fooling_set(n as usize).unwrap();
            assert_eq!(fooling.len(), 1 << (n - 1));
            assert!(fooling.iter().all(|&(x, y)| r.value(x, y).unwrap()));
            let xs: HashSet<u64> = fooling.iter().map(|p| p.0).collect();
            assert_eq!(xs.len(), fooling.len());
            if n <= 8 {
                for (i, &(x1, y1)) in fooling.iter().enumerate() {
                    for &(x2, y2) in &fooling[i + 1..] {
                        assert!(!r.value(x1, y2).unwrap() && !r.value(x2, y1).unwrap());
                    }
                }
            }
        }
    }
}
