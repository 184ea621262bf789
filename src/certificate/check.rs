//! The independent checker: accepts or rejects a certificate by re-deriving every claim from the
//! matrix, trusting nothing the search did.
//!
//! It rebuilds the matrix from the certificate's `problem` and then checks the evidence with its
//! own plain code (its own eliminations, its own walks), sharing only `problem` and `matrix` with
//! the measures. What a certificate cannot prove — that a search found nothing better — is
//! reported as a record, never as checked.

use rayon::prelude::*;

use super::{
    CertificateFile, Claim, Dependency, Direction, Field, FoolingSetCert, LowerBoundWitness, Of,
    OneWayCert, ProtocolCert, ProtocolNode, RankCert, RectangleKind, RectanglesCert,
};
use std::borrow::Cow;

use crate::error::{InputError, Setting};
use crate::matrix::CommMatrix;
use crate::problem::{DEFAULT_MAX_MEMORY, ProblemSpec, human_bytes};

/// What a certificate was found to prove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The claim as proven, e.g. `rank over GF(2) of EQ_3 = 8`.
    pub statement: String,
    /// Parts of the certificate that are search records, not proofs.
    pub unchecked: Vec<String>,
}

/// Why a certificate was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("certificate rejected: {0}")]
pub struct Rejected(pub String);

fn reject<T>(msg: impl Into<String>) -> Result<T, Rejected> {
    Err(Rejected(msg.into()))
}

/// The most `n` of a built-in problem the checker reads (the matrix of a larger one could not
/// be indexed, let alone built).
const MAX_PROBLEM_N: u32 = 40;

/// Checks what a certificate file is before anything is built: its format version, that its
/// problem is one the checker can rebuild, and that rebuilding the matrix and checking this
/// kind of claim on it fits in `max_memory` bytes (refused with the estimate). An error here
/// means the file is malformed or over the limit (bad input), not that its claim is false; it
/// names the field that is wrong.
pub fn admit(file: &CertificateFile, max_memory: u64) -> Result<(), InputError> {
    let field = |name: &str, msg: String| InputError::new(format!("field `{name}`: {msg}"));
    if file.ccsep_certificate != super::FORMAT_VERSION {
        return Err(field(
            "ccsep_certificate",
            format!(
                "format version {} is not the version this checker reads ({})",
                file.ccsep_certificate,
                super::FORMAT_VERSION
            ),
        ));
    }
    match &file.problem {
        ProblemSpec::Matrix { rows } => {
            let cols = rows.first().map_or(0, String::len);
            if cols == 0 || rows.iter().any(|r| r.len() != cols) {
                return Err(field(
                    "problem.rows",
                    "an explicit matrix needs rows of equal, non-zero length".into(),
                ));
            }
            if let Some((i, c)) = rows
                .iter()
                .enumerate()
                .find_map(|(i, r)| r.chars().find(|c| !matches!(c, '0' | '1')).map(|c| (i, c)))
            {
                return Err(field(
                    "problem.rows",
                    format!("row {i} holds {c:?}: a row is a string of 0 and 1"),
                ));
            }
        }
        ProblemSpec::Index { n }
        | ProblemSpec::Eq { n }
        | ProblemSpec::Disj { n }
        | ProblemSpec::Gt { n }
        | ProblemSpec::Ip { n } => {
            if !(1..=MAX_PROBLEM_N).contains(n) {
                return Err(field(
                    "problem.n",
                    format!(
                        "{n} is beyond what the checker rebuilds: a built-in problem has 1 <= n <= {MAX_PROBLEM_N}"
                    ),
                ));
            }
        }
    }
    let need = memory_needed(file);
    if need > u128::from(max_memory) {
        let est = file.problem.estimate();
        return Err(InputError::new(format!(
            "checking this {} certificate of {} ({} x {}) takes about {} of memory (the matrix alone {}), over the limit of {}; `ccsep verify {} BYTES` raises it if the machine has the memory",
            claim_words(&file.claim),
            file.problem.label(),
            est.rows,
            est.cols,
            human_bytes(need),
            human_bytes(est.bytes),
            human_bytes(u128::from(max_memory)),
            Setting::MaxMemory,
        )));
    }
    Ok(())
}

fn claim_words(c: &Claim) -> &'static str {
    match c {
        Claim::OneWay(_) => "one-way",
        Claim::Rank(_) => "rank",
        Claim::FoolingSet(_) => "fooling-set",
        Claim::Rectangles(_) => "rectangles",
        Claim::Protocol(_) => "protocol",
    }
}

/// Bytes of a `rows × cols` bit matrix.
fn matrix_bytes(rows: u128, cols: u128) -> u128 {
    rows * cols.div_ceil(64) * 8
}

/// What the checker allocates for this certificate, from the problem's dimensions and the
/// claim's own lengths (the claim is already in memory): the matrix, the transposed or
/// complemented copy a claim is checked on, and each check's working arrays.
fn memory_needed(file: &CertificateFile) -> u128 {
    let (rows, cols) = file.problem.dims();
    let matrix = matrix_bytes(rows, cols);
    let rank = |c: &RankCert| {
        let copy = if c.of == Of::Complement { matrix } else { 0 };
        // The clamped size is what is allocated: a longer basis is refused before the minor.
        let r = u128::from(c.rank).min(rows.min(cols));
        let per_entry = match c.field {
            Field::Gf2 => 1,
            Field::Rational => 9,
        };
        copy + r * r * per_entry + 2 * rows
    };
    matrix
        + match &file.claim {
            Claim::OneWay(c) => {
                let (copy, sender) = match c.direction {
                    Direction::AliceToBob => (0, rows),
                    Direction::BobToAlice => (matrix_bytes(cols, rows), cols),
                };
                copy + 32 * sender
            }
            Claim::Rank(c) => rank(c),
            Claim::FoolingSet(c) => 16 * c.pairs.len() as u128,
            Claim::Rectangles(_) => 4 * rows * cols,
            Claim::Protocol(c) => {
                8 * (rows + cols)
                    + match &c.lower_bound {
                        LowerBoundWitness::Ranks { matrix, complement } => {
                            rank(matrix).max(rank(complement))
                        }
                        LowerBoundWitness::FoolingSets { one, zero } => {
                            16 * (one.pairs.len() + zero.pairs.len()) as u128
                        }
                        _ => 0,
                    }
            }
        }
}

/// Checks one certificate file (after [`admit`] with the default memory limit).
pub fn check(file: &CertificateFile) -> Result<Verified, Rejected> {
    check_with_limit(file, DEFAULT_MAX_MEMORY)
}

/// Checks one certificate file, refusing one whose check needs more than `max_memory` bytes.
/// The claim's shape (lengths, indices in range, no repeats) is checked against the problem's
/// dimensions before the matrix is built.
pub fn check_with_limit(file: &CertificateFile, max_memory: u64) -> Result<Verified, Rejected> {
    admit(file, max_memory).map_err(|e| Rejected(e.message))?;
    let (rows, cols) = file.problem.dims();
    // Admitted: the dimensions fit in memory, so they fit a usize.
    check_shape(&file.claim, rows as usize, cols as usize)?;
    let m = file.problem.matrix().map_err(|e| Rejected(e.message))?;
    let name = file.problem.label();
    match &file.claim {
        Claim::OneWay(c) => check_one_way(&m, c).map(|bits| Verified {
            statement: format!(
                "one-way {} CC of {name} = {bits} bits ({} messages)",
                direction_words(c.direction),
                c.messages
            ),
            unchecked: vec![],
        }),
        Claim::Rank(c) => {
            let exact = check_rank(&m, c)?;
            let what = format!(
                "rank over {} of {}",
                field_words(c.field),
                of_words(c.of, &name)
            );
            Ok(if exact {
                Verified {
                    statement: format!("{what} = {}", c.rank),
                    unchecked: vec![],
                }
            } else {
                Verified {
                    statement: format!("{what} >= {}", c.rank),
                    unchecked: vec![
                        "no dependencies given: the upper bound is not certified".into(),
                    ],
                }
            })
        }
        Claim::FoolingSet(c) => {
            check_fooling(&m, c)?;
            Ok(Verified {
                statement: format!(
                    "{name} has a {}-fooling set of size {}, so C^{} >= {}",
                    c.value,
                    c.pairs.len(),
                    c.value,
                    c.pairs.len()
                ),
                unchecked: search_record(c.proven_maximum, "that no larger fooling set exists"),
            })
        }
        Claim::Rectangles(c) => {
            check_rectangles(&m, c)?;
            Ok(Verified {
                statement: format!("{} of {name} <= {}", kind_words(c.kind), c.rectangles.len()),
                unchecked: search_record(c.proven_minimum, "that no smaller one exists"),
            })
        }
        Claim::Protocol(c) => check_protocol(&m, c, &name),
    }
}

fn search_record(proven: bool, what: &str) -> Vec<String> {
    if proven {
        vec![format!(
            "the search's record says it proved {what}; that part is not re-derived here"
        )]
    } else {
        vec![]
    }
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::AliceToBob => "Alice->Bob",
        Direction::BobToAlice => "Bob->Alice",
    }
}

fn field_words(f: Field) -> &'static str {
    match f {
        Field::Gf2 => "GF(2)",
        Field::Rational => "the rationals",
    }
}

fn of_words(of: Of, name: &str) -> String {
    match of {
        Of::Matrix => name.to_string(),
        Of::Complement => format!("J - {name}"),
    }
}

fn kind_words(k: RectangleKind) -> &'static str {
    match k {
        RectangleKind::Partition => "partition number C^P",
        RectangleKind::Cover1 => "1-cover number C^1",
        RectangleKind::Cover0 => "0-cover number C^0",
    }
}

fn ceil_log2(k: u64) -> u32 {
    let mut bits = 0;
    while (1u64 << bits) < k {
        bits += 1;
    }
    bits
}

fn index(i: u64, len: usize, what: &str) -> Result<usize, Rejected> {
    usize::try_from(i).ok().filter(|&i| i < len).map_or_else(
        || reject(format!("{what} {i} is out of range (0..{len})")),
        Ok,
    )
}

/// Checks the claim's shape against the matrix's dimensions before the matrix is built: lengths
/// that must match it, indices in range, nothing listed twice that a true claim lists once. A
/// failure is a false claim, found cheaply (a certificate relabelled to a larger problem is
/// refused here, before that problem's matrix is built).
fn check_shape(claim: &Claim, rows: usize, cols: usize) -> Result<(), Rejected> {
    match claim {
        Claim::OneWay(c) => {
            let sender = match c.direction {
                Direction::AliceToBob => rows,
                Direction::BobToAlice => cols,
            };
            if c.message_of.len() != sender {
                return reject(format!(
                    "message_of has {} entries but the sender has {sender} inputs",
                    c.message_of.len()
                ));
            }
            if c.messages > sender as u64 {
                return reject(format!(
                    "{} messages claimed, but the sender has only {sender} inputs",
                    c.messages
                ));
            }
            Ok(())
        }
        Claim::Rank(c) => rank_shape(c, rows, cols),
        Claim::FoolingSet(c) => fooling_shape(c, rows, cols),
        Claim::Rectangles(c) => {
            let cells = rows.checked_mul(cols).filter(|&c| c <= 1 << 28);
            let Some(cells) = cells else {
                return reject("matrix too large for rectangle certificates");
            };
            let mut total: u128 = 0;
            for (k, rect) in c.rectangles.iter().enumerate() {
                if rect.rows.is_empty() || rect.cols.is_empty() {
                    return reject(format!("rectangle {k} is empty"));
                }
                distinct_in_range(&rect.rows, rows, &format!("rectangle {k}'s row"))?;
                distinct_in_range(&rect.cols, cols, &format!("rectangle {k}'s column"))?;
                total += rect.rows.len() as u128 * rect.cols.len() as u128;
            }
            // Covers may overlap, so their cells are bounded only by the file; the cells a
            // check visits are capped instead (a partition visits each cell once).
            if total > MAX_RECTANGLE_VISITS {
                return reject(format!(
                    "the rectangles have {total} cells in all: more than the {MAX_RECTANGLE_VISITS} the checker visits (a cover needs at most one rectangle per cell)"
                ));
            }
            if c.kind == RectangleKind::Partition && total != cells as u128 {
                return reject(format!(
                    "the rectangles have {total} cells in all, but a partition of the {rows} x {cols} matrix has {cells}"
                ));
            }
            Ok(())
        }
        Claim::Protocol(c) => {
            let depth = tree_depth(&c.tree);
            if depth != c.depth {
                return reject(format!(
                    "the tree has depth {depth}, not the claimed {}",
                    c.depth
                ));
            }
            match &c.lower_bound {
                LowerBoundWitness::Ranks { matrix, complement } => {
                    rank_shape(matrix, rows, cols)?;
                    rank_shape(complement, rows, cols)
                }
                LowerBoundWitness::FoolingSets { one, zero } => {
                    fooling_shape(one, rows, cols)?;
                    fooling_shape(zero, rows, cols)
                }
                LowerBoundWitness::Trivial | LowerBoundWitness::Search { .. } => Ok(()),
            }
        }
    }
}

/// Most cells, counted with multiplicity, that the checker visits for a rectangles certificate.
const MAX_RECTANGLE_VISITS: u128 = 1 << 32;

/// Rejects an index out of `0..len` or listed twice (`what` names the list).
fn distinct_in_range(list: &[u64], len: usize, what: &str) -> Result<(), Rejected> {
    let mut seen = vec![false; len];
    for &i in list {
        let i = index(i, len, what)?;
        if std::mem::replace(&mut seen[i], true) {
            return reject(format!("{what} {i} is listed twice"));
        }
    }
    Ok(())
}

fn rank_shape(c: &RankCert, rows: usize, cols: usize) -> Result<(), Rejected> {
    let most = rows.min(cols) as u64;
    if c.rank > most {
        return reject(format!(
            "rank {} claimed, but a {rows} x {cols} matrix has rank at most {most}",
            c.rank
        ));
    }
    if c.field == Field::Gf2 && c.modulus.is_some() {
        return reject(
            "a GF(2) rank certificate has no modulus (it is for `rational`): set it to null",
        );
    }
    if c.basis_rows.len() as u64 != c.rank || c.pivot_cols.len() as u64 != c.rank {
        return reject("rank, basis_rows and pivot_cols disagree in length");
    }
    // A repeated basis row or pivot column makes the minor singular.
    distinct_in_range(&c.basis_rows, rows, "basis row")?;
    distinct_in_range(&c.pivot_cols, cols, "pivot column")?;
    Ok(())
}

fn fooling_shape(c: &FoolingSetCert, rows: usize, cols: usize) -> Result<(), Rejected> {
    // Two pairs sharing a row (or a column) share a rectangle.
    let most = rows.min(cols);
    if c.pairs.len() > most {
        return reject(format!(
            "{} pairs claimed, but a fooling set of a {rows} x {cols} matrix has at most {most} (two pairs in one row or column share a rectangle)",
            c.pairs.len()
        ));
    }
    for &(x, y) in &c.pairs {
        index(x, rows, "row")?;
        index(y, cols, "column")?;
    }
    Ok(())
}

/// The depth of a protocol tree from its structure alone (the file's nesting is bounded by the
/// JSON reader's recursion limit, so this recursion is too).
fn tree_depth(t: &ProtocolNode) -> u32 {
    match t {
        ProtocolNode::Leaf { .. } => 0,
        ProtocolNode::Alice { zero, one, .. } | ProtocolNode::Bob { zero, one, .. } => {
            1 + tree_depth(zero).max(tree_depth(one))
        }
    }
}

/// Returns the bits the one-way protocol proves, after checking both directions of the claim.
fn check_one_way(m: &CommMatrix, c: &OneWayCert) -> Result<u32, Rejected> {
    let view: Cow<CommMatrix> = match c.direction {
        Direction::AliceToBob => Cow::Borrowed(m),
        Direction::BobToAlice => Cow::Owned(m.transpose()),
    };
    if c.message_of.len() != view.rows() {
        return reject(format!(
            "message_of has {} entries but the sender has {} inputs",
            c.message_of.len(),
            view.rows()
        ));
    }
    let k = usize::try_from(c.messages).unwrap_or(usize::MAX);
    let mut first: Vec<Option<usize>> = vec![None; k.min(view.rows())];
    for (i, &msg) in c.message_of.iter().enumerate() {
        let msg = msg as usize;
        let Some(slot) = first.get_mut(msg) else {
            return reject(format!("input {i} sends message {msg}, not below {k}"));
        };
        match slot {
            None => *slot = Some(i),
            Some(r) if view.row_words(*r) == view.row_words(i) => {}
            Some(r) => {
                return reject(format!(
                    "inputs {r} and {i} send the same message {msg} but the receiver's answers differ"
                ));
            }
        }
    }
    if first.len() != k || first.iter().any(Option::is_none) {
        return reject(format!("some of the {k} claimed messages are never sent"));
    }
    // Lower bound: the first inputs of the messages have pairwise different rows.
    let mut reps: Vec<&[u64]> = first.iter().map(|r| view.row_words(r.unwrap())).collect();
    reps.par_sort_unstable();
    if reps.windows(2).any(|w| w[0] == w[1]) {
        return reject("two messages stand for identical rows: fewer messages would do");
    }
    if c.bits != ceil_log2(c.messages) {
        return reject(format!(
            "{} messages need {} bits, not {}",
            c.messages,
            ceil_log2(c.messages),
            c.bits
        ));
    }
    Ok(c.bits)
}

/// Checks a rank certificate; returns whether the upper bound is certified too.
fn check_rank(m: &CommMatrix, c: &RankCert) -> Result<bool, Rejected> {
    let view: Cow<CommMatrix> = match c.of {
        Of::Matrix => Cow::Borrowed(m),
        Of::Complement => Cow::Owned(m.complement()),
    };
    let r = c.rank as usize;
    if c.basis_rows.len() != r || c.pivot_cols.len() != r {
        return reject("rank, basis_rows and pivot_cols disagree in length");
    }
    let rows: Vec<usize> = c
        .basis_rows
        .iter()
        .map(|&i| index(i, view.rows(), "basis row"))
        .collect::<Result<_, _>>()?;
    let cols: Vec<usize> = c
        .pivot_cols
        .iter()
        .map(|&j| index(j, view.cols(), "pivot column"))
        .collect::<Result<_, _>>()?;
    let minor: Vec<Vec<bool>> = rows
        .iter()
        .map(|&x| cols.iter().map(|&y| view.get(x, y)).collect())
        .collect();
    match c.field {
        Field::Gf2 => {
            if !gf2_nonsingular(&minor) {
                return reject("the basis minor is singular over GF(2)");
            }
        }
        Field::Rational => {
            let Some(p) = c.modulus else {
                return reject("a rational rank certificate needs the prime `modulus`");
            };
            if !is_prime(p) || p >= 1 << 62 {
                return reject(format!("modulus {p} is not a prime below 2^62"));
            }
            if !modp_nonsingular(&minor, p) {
                return reject(format!("the basis minor is singular modulo {p}"));
            }
        }
    }
    // A full rank needs no dependencies for its upper bound, but any given are still checked:
    // nothing in a file is accepted unread.
    let full = r == view.rows().min(view.cols());
    let Some(deps) = &c.dependencies else {
        return Ok(full);
    };
    if full && deps.is_empty() {
        return Ok(true);
    }
    let mut is_basis = vec![false; view.rows()];
    for &x in &rows {
        is_basis[x] = true;
    }
    let mut covered = is_basis.clone();
    for d in deps {
        let x = index(d.row, view.rows(), "dependent row")?;
        if covered[x] {
            return reject(format!("row {x} is a basis row or has two dependencies"));
        }
        covered[x] = true;
        check_dependency(&view, &rows, x, d, c.field)?;
    }
    if let Some(x) = covered.iter().position(|&b| !b) {
        return reject(format!(
            "row {x} is neither in the basis nor expressed in it"
        ));
    }
    Ok(true)
}

fn check_dependency(
    view: &CommMatrix,
    basis: &[usize],
    x: usize,
    d: &Dependency,
    field: Field,
) -> Result<(), Rejected> {
    if d.denominator == 0 {
        return reject(format!("row {x}: denominator 0"));
    }
    // One term per basis row at most, so the work below is bounded by the basis, not the file.
    if d.terms.len() > basis.len() {
        return reject(format!(
            "row {x}: {} terms, but the basis has only {} rows",
            d.terms.len(),
            basis.len()
        ));
    }
    for &(k, _) in &d.terms {
        index(u64::from(k), basis.len(), "basis index")?;
    }
    for y in 0..view.cols() {
        let ok = match field {
            Field::Gf2 => {
                let mut acc = false;
                if d.denominator % 2 == 0 {
                    return reject(format!("row {x}: even denominator over GF(2)"));
                }
                for &(k, num) in &d.terms {
                    if num % 2 != 0 && view.get(basis[k as usize], y) {
                        acc = !acc;
                    }
                }
                acc == view.get(x, y)
            }
            Field::Rational => {
                let mut acc: i128 = 0;
                for &(k, num) in &d.terms {
                    if view.get(basis[k as usize], y) {
                        acc += i128::from(num);
                    }
                }
                acc == i128::from(d.denominator) * i128::from(view.get(x, y))
            }
        };
        if !ok {
            return reject(format!(
                "row {x}: the claimed combination of basis rows differs from it in column {y}"
            ));
        }
    }
    Ok(())
}

fn gf2_nonsingular(minor: &[Vec<bool>]) -> bool {
    let n = minor.len();
    let words = n.div_ceil(64);
    let mut a: Vec<Vec<u64>> = minor
        .iter()
        .map(|row| {
            let mut w = vec![0u64; words];
            for (j, &b) in row.iter().enumerate() {
                if b {
                    w[j / 64] |= 1 << (j % 64);
                }
            }
            w
        })
        .collect();
    for col in 0..n {
        let (wi, bit) = (col / 64, 1u64 << (col % 64));
        let Some(p) = (col..n).find(|&i| a[i][wi] & bit != 0) else {
            return false;
        };
        a.swap(col, p);
        let pivot = a[col].clone();
        a[col + 1..].par_iter_mut().for_each(|row| {
            if row[wi] & bit != 0 {
                for (x, y) in row.iter_mut().zip(&pivot) {
                    *x ^= y;
                }
            }
        });
    }
    true
}

fn mul_mod(a: u64, b: u64, p: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(p)) as u64
}

fn pow_mod(mut b: u64, mut e: u64, p: u64) -> u64 {
    let mut r = 1 % p;
    b %= p;
    while e > 0 {
        if e & 1 == 1 {
            r = mul_mod(r, b, p);
        }
        b = mul_mod(b, b, p);
        e >>= 1;
    }
    r
}

/// Deterministic Miller–Rabin for 64-bit integers.
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for q in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        if n.is_multiple_of(q) {
            return n == q;
        }
    }
    let (mut d, mut s) = (n - 1, 0);
    while d % 2 == 0 {
        d /= 2;
        s += 1;
    }
    'witness: for a in [2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37] {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

const MERSENNE_31: u64 = (1 << 31) - 1;

/// Gaussian elimination modulo the prime `p`; rows below the pivot in parallel. `p = 2^31 − 1`
/// takes a fast path (shift-and-add reduction); other primes use 128-bit remainders.
fn modp_nonsingular(minor: &[Vec<bool>], p: u64) -> bool {
    let n = minor.len();
    let mut a: Vec<Vec<u64>> = minor
        .iter()
        .map(|r| r.iter().map(|&b| u64::from(b)).collect())
        .collect();
    for col in 0..n {
        let Some(piv) = (col..n).find(|&i| a[i][col] != 0) else {
            return false;
        };
        a.swap(col, piv);
        let inv = pow_mod(a[col][col], p - 2, p);
        let pivot: Vec<u64> = a[col].iter().map(|&v| mul_mod(v, inv, p)).collect();
        a[col + 1..].par_iter_mut().for_each(|row| {
            let f = row[col];
            if f == 0 {
                return;
            }
            let neg = p - f;
            if p == MERSENNE_31 {
                // x + neg·y < 2^31 + 2^62 fits a u64; fold twice to reduce mod 2^31 − 1.
                for (x, &y) in row[col..].iter_mut().zip(&pivot[col..]) {
                    let v = *x + neg * y;
                    let v = (v & MERSENNE_31) + (v >> 31);
                    let v = (v & MERSENNE_31) + (v >> 31);
                    *x = if v >= MERSENNE_31 { v - MERSENNE_31 } else { v };
                }
            } else {
                for (x, &y) in row[col..].iter_mut().zip(&pivot[col..]) {
                    *x =
                        ((u128::from(*x) + u128::from(neg) * u128::from(y)) % u128::from(p)) as u64;
                }
            }
        });
    }
    true
}

fn check_fooling(m: &CommMatrix, c: &FoolingSetCert) -> Result<(), Rejected> {
    if c.value > 1 {
        return reject("a fooling set's value is 0 or 1");
    }
    let v = c.value == 1;
    let pairs: Vec<(usize, usize)> = c
        .pairs
        .iter()
        .map(|&(x, y)| Ok((index(x, m.rows(), "row")?, index(y, m.cols(), "column")?)))
        .collect::<Result<_, Rejected>>()?;
    for &(x, y) in &pairs {
        if m.get(x, y) != v {
            return reject(format!("f({x}, {y}) is not {}", c.value));
        }
    }
    let bad = (0..pairs.len()).into_par_iter().find_map_any(|i| {
        let (x1, y1) = pairs[i];
        pairs[i + 1..].iter().find_map(|&(x2, y2)| {
            (m.get(x1, y2) == v && m.get(x2, y1) == v).then_some(((x1, y1), (x2, y2)))
        })
    });
    if let Some((a, b)) = bad {
        return reject(format!(
            "pairs {a:?} and {b:?} can share a rectangle: it is not a fooling set"
        ));
    }
    Ok(())
}

fn check_rectangles(m: &CommMatrix, c: &RectanglesCert) -> Result<(), Rejected> {
    let cells = m.rows().checked_mul(m.cols()).filter(|&c| c <= 1 << 28);
    let Some(cells) = cells else {
        return reject("matrix too large for rectangle certificates");
    };
    let mut count = vec![0u32; cells];
    for (k, rect) in c.rectangles.iter().enumerate() {
        let want = match c.kind {
            RectangleKind::Partition => rect.value,
            RectangleKind::Cover1 => 1,
            RectangleKind::Cover0 => 0,
        };
        if rect.value != want || rect.value > 1 {
            return reject(format!("rectangle {k} has value {}", rect.value));
        }
        if rect.rows.is_empty() || rect.cols.is_empty() {
            return reject(format!("rectangle {k} is empty"));
        }
        let rows: Vec<usize> = rect
            .rows
            .iter()
            .map(|&i| index(i, m.rows(), "row"))
            .collect::<Result<_, _>>()?;
        let cols: Vec<usize> = rect
            .cols
            .iter()
            .map(|&j| index(j, m.cols(), "column"))
            .collect::<Result<_, _>>()?;
        // Before the cells are visited: a repeated row or column would multiply the work.
        let mut sorted_rows = rows.clone();
        sorted_rows.sort_unstable();
        sorted_rows.dedup();
        let mut sorted_cols = cols.clone();
        sorted_cols.sort_unstable();
        sorted_cols.dedup();
        if sorted_rows.len() != rows.len() || sorted_cols.len() != cols.len() {
            return reject(format!("rectangle {k} lists a row or column twice"));
        }
        for &x in &rows {
            for &y in &cols {
                if m.get(x, y) != (rect.value == 1) {
                    return reject(format!(
                        "rectangle {k} is not monochromatic: f({x}, {y}) != {}",
                        rect.value
                    ));
                }
                count[x * m.cols() + y] += 1;
            }
        }
    }
    for x in 0..m.rows() {
        for y in 0..m.cols() {
            let n = count[x * m.cols() + y];
            let ok = match c.kind {
                RectangleKind::Partition => n == 1,
                RectangleKind::Cover1 => !m.get(x, y) || n >= 1,
                RectangleKind::Cover0 => m.get(x, y) || n >= 1,
            };
            if !ok {
                return reject(format!("cell ({x}, {y}) is covered {n} times"));
            }
        }
    }
    Ok(())
}

/// Walks the tree over the rectangle `rows × cols`; returns its depth. The two slices are
/// reordered in place (a node moves the inputs that send 1 to the front and hands each side
/// its part), so the walk needs no memory beyond the root's two index lists, however deep or
/// lopsided the tree.
fn walk(
    m: &CommMatrix,
    t: &ProtocolNode,
    rows: &mut [usize],
    cols: &mut [usize],
) -> Result<u32, Rejected> {
    match t {
        ProtocolNode::Leaf { output } => {
            for &x in rows.iter() {
                for &y in cols.iter() {
                    if u8::from(m.get(x, y)) != *output {
                        return reject(format!(
                            "the protocol answers {output} on (x={x}, y={y}) but f = {}",
                            u8::from(m.get(x, y))
                        ));
                    }
                }
            }
            Ok(0)
        }
        ProtocolNode::Alice { ones, zero, one } | ProtocolNode::Bob { ones, zero, one } => {
            let alice = matches!(t, ProtocolNode::Alice { .. });
            let current: &mut [usize] = if alice { &mut *rows } else { &mut *cols };
            let mut mark = std::collections::HashSet::with_capacity(ones.len());
            for &i in ones {
                let i = usize::try_from(i).unwrap_or(usize::MAX);
                if !mark.insert(i) {
                    return reject(format!("input {i} listed twice in one node"));
                }
            }
            let mut k = 0;
            for i in 0..current.len() {
                if mark.contains(&current[i]) {
                    current.swap(i, k);
                    k += 1;
                }
            }
            if k != ones.len() {
                return reject("a node lists as sending 1 an input that is not in its rectangle");
            }
            drop(mark);
            let (d0, d1) = if alice {
                let (one_side, zero_side) = rows.split_at_mut(k);
                (
                    walk(m, zero, zero_side, cols)?,
                    walk(m, one, one_side, cols)?,
                )
            } else {
                let (one_side, zero_side) = cols.split_at_mut(k);
                (
                    walk(m, zero, rows, zero_side)?,
                    walk(m, one, rows, one_side)?,
                )
            };
            Ok(1 + d0.max(d1))
        }
    }
}

fn check_protocol(m: &CommMatrix, c: &ProtocolCert, name: &str) -> Result<Verified, Rejected> {
    let mut rows: Vec<usize> = (0..m.rows()).collect();
    let mut cols: Vec<usize> = (0..m.cols()).collect();
    let depth = walk(m, &c.tree, &mut rows, &mut cols)?;
    if depth != c.depth {
        return reject(format!(
            "the tree has depth {depth}, not the claimed {}",
            c.depth
        ));
    }
    let upper = format!("D({name}) <= {depth}");
    let lower = match &c.lower_bound {
        LowerBoundWitness::Trivial => u32::from(m.constant_value().is_none()),
        LowerBoundWitness::FoolingSets { one, zero } => {
            if one.value != 1 || zero.value != 0 {
                return reject("the fooling-set witness needs a 1-fooling set and a 0-fooling set");
            }
            check_fooling(m, one)?;
            check_fooling(m, zero)?;
            ceil_log2((one.pairs.len() + zero.pairs.len()) as u64)
        }
        LowerBoundWitness::Ranks { matrix, complement } => {
            if matrix.of != Of::Matrix || complement.of != Of::Complement {
                return reject("the rank witness needs rank(M) and rank(J - M)");
            }
            check_rank(m, matrix)?;
            check_rank(m, complement)?;
            ceil_log2(matrix.rank + complement.rank)
        }
        LowerBoundWitness::Search { nodes } => {
            return Ok(Verified {
                statement: format!("{upper} (the protocol tree checks on every input)"),
                unchecked: vec![format!(
                    "D >= {}: a record of an exhaustive search ({nodes} nodes), not re-derived here",
                    c.depth
                )],
            });
        }
    };
    if lower < c.depth {
        return reject(format!(
            "the lower-bound witness proves only D >= {lower}, not the claimed {}",
            c.depth
        ));
    }
    Ok(Verified {
        statement: format!(
            "D({name}) = {depth}: the tree checks on every input and the lower-bound witness proves D >= {lower}"
        ),
        unchecked: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes() {
        let primes: Vec<u64> = (0..40).filter(|&n| is_prime(n)).collect();
        assert_eq!(primes, vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]);
        assert!(is_prime((1 << 31) - 1) && is_prime((1 << 61) - 1));
        assert!(!is_prime(((1u64 << 31) - 1) * 3));
    }

    #[test]
    fn eliminations() {
        let id = vec![vec![true, false], vec![false, true]];
        let ones = vec![vec![true, true], vec![true, true]];
        let j_minus_i = vec![
            vec![false, true, true],
            vec![true, false, true],
            vec![true, true, false],
        ];
        assert!(gf2_nonsingular(&id) && !gf2_nonsingular(&ones));
        // det(J − I) = 2 for 3×3: singular mod 2, not mod 3.
        assert!(!gf2_nonsingular(&j_minus_i) && modp_nonsingular(&j_minus_i, 3));
        assert!(!modp_nonsingular(&j_minus_i, 2));
    }
}
