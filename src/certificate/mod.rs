//! Certificates: what each measure writes so that its value can be re-checked without the search.
//!
//! A certificate file is one JSON object: `{"ccsep_certificate": 1, "problem": …, "claim": …}`.
//! The `problem` names the matrix (a built-in problem with its `n`, or the rows themselves), so
//! the checker rebuilds the matrix from its definition and trusts nothing else in the file.
//! Row and column indices are 0-based positions in that matrix.
//!
//! `check` holds the independent checker; it shares only `problem` and `matrix` with the
//! measures, never their search code.

pub mod check;
pub mod dot;

use serde::{Deserialize, Serialize};

use crate::problem::ProblemSpec;

/// The version written in every certificate file.
pub const FORMAT_VERSION: u32 = 1;

/// One certificate file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFile {
    pub ccsep_certificate: u32,
    pub problem: ProblemSpec,
    pub claim: Claim,
}

impl CertificateFile {
    pub fn new(problem: ProblemSpec, claim: Claim) -> Self {
        CertificateFile {
            ccsep_certificate: FORMAT_VERSION,
            problem,
            claim,
        }
    }
}

/// What a certificate claims, with the evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Claim {
    OneWay(OneWayCert),
    Rank(RankCert),
    FoolingSet(FoolingSetCert),
    Rectangles(RectanglesCert),
    Protocol(ProtocolCert),
}

/// Who speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Alice sends, Bob answers: messages index the distinct rows.
    AliceToBob,
    /// Bob sends, Alice answers: messages index the distinct columns.
    BobToAlice,
}

/// One-way deterministic CC: `bits = ceil(log2 messages)`, `messages` = number of distinct rows
/// (columns for Bob → Alice).
///
/// `message_of[i]` is the message the sender sends on input `i`. Checked: inputs with the same
/// message have identical rows (so the receiver can answer: an upper bound), and the first input
/// of each message has a row different from the first input of every other message (so no
/// protocol with fewer messages exists: the lower bound).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneWayCert {
    pub direction: Direction,
    pub messages: u64,
    pub bits: u32,
    pub message_of: Vec<u32>,
}

/// The field a rank is taken over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Gf2,
    Rational,
}

/// Which matrix a rank is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Of {
    /// `M` itself.
    Matrix,
    /// `J − M`, every entry flipped.
    Complement,
}

/// Rank over GF(2) or over the rationals.
///
/// Lower bound `rank ≥ r`: the `r × r` minor on `basis_rows × pivot_cols` is non-singular —
/// over GF(2), or for `Rational` modulo the prime `modulus` (a non-zero determinant mod p is a
/// non-zero integer, so the minor is non-singular over the rationals too).
///
/// Upper bound `rank ≤ r`: trivial when `r = min(rows, cols)`; otherwise `dependencies` gives,
/// for every row outside the basis, integers with `denominator · row = Σ numerator_k ·
/// basis_row_k` (over GF(2): denominator 1 and the sum taken mod 2). `dependencies: null` means
/// the upper bound is not certified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankCert {
    pub field: Field,
    pub of: Of,
    pub rank: u64,
    pub basis_rows: Vec<u64>,
    pub pivot_cols: Vec<u64>,
    /// The prime the minor is checked modulo (`Rational` only).
    pub modulus: Option<u64>,
    pub dependencies: Option<Vec<Dependency>>,
}

/// `denominator · M[row] = Σ numerator · M[basis_rows[basis_index]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub row: u64,
    pub denominator: i64,
    /// `(basis_index, numerator)` pairs; `basis_index` indexes `basis_rows`.
    pub terms: Vec<(u32, i64)>,
}

/// A fooling set for output `value`: pairs `(x, y)` with `f(x, y) = value`, and for any two of
/// them `f(x1, y2) ≠ value` or `f(x2, y1) ≠ value`. It proves `C^value ≥ |pairs|`.
///
/// `proven_maximum` records whether the search that found it proved no larger one exists; that
/// part is a record of the search, not something the checker re-derives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoolingSetCert {
    pub value: u8,
    pub pairs: Vec<(u64, u64)>,
    pub proven_maximum: bool,
    pub search_nodes: u64,
}

/// Which rectangle number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RectangleKind {
    /// `C^P`: monochromatic rectangles that partition the matrix.
    Partition,
    /// `C^1`: 1-rectangles (possibly overlapping) that cover every 1.
    Cover1,
    /// `C^0`: 0-rectangles that cover every 0.
    Cover0,
}

/// A combinatorial rectangle `rows × cols` on which `f` is constantly `value`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rectangle {
    pub rows: Vec<u64>,
    pub cols: Vec<u64>,
    pub value: u8,
}

/// A partition or cover by monochromatic rectangles: proves the number is `≤ rectangles.len()`.
/// `proven_minimum` records whether the search proved it optimal (a search record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RectanglesCert {
    pub kind: RectangleKind,
    pub rectangles: Vec<Rectangle>,
    pub proven_minimum: bool,
    pub search_nodes: u64,
}

/// A node of a deterministic protocol tree. At an internal node the speaker sends 1 exactly when
/// their input is in `ones` (indices into the whole matrix); everyone else still in the current
/// rectangle sends 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum ProtocolNode {
    Leaf {
        output: u8,
    },
    Alice {
        ones: Vec<u64>,
        zero: Box<ProtocolNode>,
        one: Box<ProtocolNode>,
    },
    Bob {
        ones: Vec<u64>,
        zero: Box<ProtocolNode>,
        one: Box<ProtocolNode>,
    },
}

/// Why no protocol shallower than `depth` exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum LowerBoundWitness {
    /// `D = 0` needs no witness (constant matrix), and `D ≥ 1` holds for any non-constant one.
    Trivial,
    /// A protocol tree has at least `|S1| + |S0|` leaves: `D ≥ ceil(log2(|S1| + |S0|))`.
    FoolingSets {
        one: FoolingSetCert,
        zero: FoolingSetCert,
    },
    /// Leaves `≥ rank(M) + rank(J − M)` over any field: `D ≥ ceil(log2(sum))`. Only the lower
    /// halves (the minors) of the two rank certificates are needed.
    Ranks {
        matrix: RankCert,
        complement: RankCert,
    },
    /// The exhaustive search found no protocol of depth `depth − 1`. A record, not independently
    /// checkable short of repeating the search.
    Search { nodes: u64 },
}

/// An optimal deterministic protocol: `tree` computes `f` on every input with `depth` bits
/// (the last bit is the answer, so `D(EQ_n) = n + 1`), and `lower_bound` says why no shallower
/// tree exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolCert {
    pub depth: u32,
    pub tree: ProtocolNode,
    pub lower_bound: LowerBoundWitness,
}
