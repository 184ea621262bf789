//! Every measure of one matrix, within limits, with the bounds on `D(f)` they imply side by side.
//!
//! Order of work: one-way CC (both directions), ranks (GF(2); rational of `M` and of `J − M`),
//! maximum fooling sets, then `D` — settled straight away when the best certified lower bound
//! meets the one-way upper bound, by the protocol-tree search otherwise — and last the partition
//! and cover numbers, pruned with the tree just found. A measure over its limit is left out with
//! the reason; nothing here prints (the caller passes a progress callback).

use serde::Serialize;

use crate::certificate::{
    CertificateFile, Claim, Direction, FoolingSetCert, LowerBoundWitness, Of, ProtocolCert,
    RankCert, RectangleKind,
};
use crate::error::Setting;
use crate::matrix::CommMatrix;
use crate::measures::{
    Limits, ceil_log2, deterministic, fooling, gf2_work, one_way, rank, rectangles,
};
use crate::problem::{DEFAULT_MAX_MEMORY, ProblemSpec, human_bytes};

/// Which side of `D(f)` a bound is on (`lower` / `upper` in JSON and tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// `D(f) >= bits`.
    Lower,
    /// `D(f) <= bits`.
    Upper,
}

impl Side {
    /// The word tables and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Side::Lower => "lower",
            Side::Upper => "upper",
        }
    }
}

/// One bound on `D(f)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bound {
    /// What it comes from, e.g. `ceil(log2(rank M + rank(J-M)))`.
    pub bound: String,
    pub side: Side,
    pub bits: u32,
    /// Whether an independent checker can verify it from the certificates (`false`: a search
    /// record, such as a proven-maximum claim).
    pub certified: bool,
}

/// The result of `ccsep cc`: every measure (`None` where not computed within the limits).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub problem: String,
    pub rows: u64,
    pub cols: u64,
    pub one_way_alice_to_bob: Option<u32>,
    pub one_way_bob_to_alice: Option<u32>,
    pub rank_gf2: Option<u64>,
    pub rank_gf2_complement: Option<u64>,
    pub rank_rational: Option<u64>,
    pub rank_rational_complement: Option<u64>,
    pub max_fooling_set_1: Option<u64>,
    pub max_fooling_set_0: Option<u64>,
    pub partition_number: Option<u64>,
    pub cover_number_1: Option<u64>,
    pub cover_number_0: Option<u64>,
    pub deterministic_cc: Option<u32>,
    pub deterministic_cc_lower: u32,
    pub deterministic_cc_upper: u32,
    /// For each measure above: whether its value is exact (proven both ways).
    pub exact: Exact,
    pub bounds: Vec<Bound>,
    /// Measures left out or cut short, with the reason and the setting that raises the limit,
    /// named as a [`Setting`] placeholder: show a note through
    /// [`crate::error::spell_settings`] (`ccsep cc` spells it as the flag).
    pub limits_hit: Vec<String>,
    /// Certificate files written (empty without `--certify`).
    pub certificate_files: Vec<String>,
    #[serde(skip)]
    pub certificates: Vec<(String, CertificateFile)>,
}

/// Exactness flags, one per measure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Exact {
    pub one_way_alice_to_bob: bool,
    pub one_way_bob_to_alice: bool,
    pub rank_gf2: bool,
    pub rank_gf2_complement: bool,
    pub rank_rational: bool,
    pub rank_rational_complement: bool,
    pub max_fooling_set_1: bool,
    pub max_fooling_set_0: bool,
    pub partition_number: bool,
    pub cover_number_1: bool,
    pub cover_number_0: bool,
    pub deterministic_cc: bool,
}

/// Most memory the fooling-set search's compatibility graph may take: `V²/8` bytes for `V`
/// entries of one value (the default ceiling on a matrix, `DEFAULT_MAX_MEMORY`).
const FOOLING_MAX_GRAPH_BYTES: u64 = DEFAULT_MAX_MEMORY;

/// Most entries of one value the fooling-set search takes, whatever `--fooling-entries` says:
/// `⌊√(8 · FOOLING_MAX_GRAPH_BYTES)⌋` (185 363 for 4 GiB), so that its graph fits.
const FOOLING_MAX_GRAPH_ENTRIES: u64 = 185_363;

/// Largest matrix (entries) whose protocol tree is written as a certificate: the tree lists
/// inputs at every level, so it grows as `(rows + cols) · depth`.
const PROTOCOL_CERT_MAX_ENTRIES: u64 = 1 << 24;

/// Computes every measure of `m` (named `problem`) within `limits`. With `certify`, the
/// certificates are returned in `Summary::certificates` as `(file name, certificate)`.
/// `progress` is told the name of each stage as it starts.
///
/// The phases run in the order of the module documentation, each a method of `Summarizer`:
/// what one phase finds that a later one needs is passed on as its return value.
pub fn summarize(
    problem: &ProblemSpec,
    m: &CommMatrix,
    limits: &Limits,
    certify: bool,
    progress: &dyn Fn(&str),
) -> Summary {
    let mut run = Summarizer::new(problem, m, limits, certify, progress);
    let one_way = run.one_way();
    let complement = m.complement();
    let gf2 = run.gf2_ranks(&complement, one_way.distinct_rows);
    let rational = run.rational_ranks(&complement, one_way.distinct_rows);
    let fooling = run.fooling_sets();
    let lower = run.lower_bounds(&fooling, gf2, rational);
    run.one_way_upper_bounds();
    let leaves = run.deterministic_cc(&one_way, lower);
    run.rectangles(&one_way, leaves);
    run.finish()
}

/// What every phase of [`summarize`] reads (the matrix, the limits, the options) and adds to
/// (the summary and the certificates in the order they are written).
struct Summarizer<'a> {
    problem: &'a ProblemSpec,
    m: &'a CommMatrix,
    limits: &'a Limits,
    certify: bool,
    progress: &'a dyn Fn(&str),
    /// 1 when `m` is not constant (every protocol then sends the answer bit), else 0.
    answer_bit: u32,
    s: Summary,
    certs: Vec<(String, Claim)>,
}

/// What the one-way phase passes on.
struct OneWayOutcome {
    /// The cheaper direction's speaker (Alice on a tie).
    speaker: Direction,
    /// One-way CC of the cheaper direction plus the answer bit: an upper bound on `D`.
    upper: u32,
    distinct_rows: u64,
    distinct_cols: u64,
}

/// The ranks of `M` and `J − M` over one field, with their certificates when kept.
struct RankPair {
    matrix: u64,
    complement: u64,
    certs: Option<(RankCert, RankCert)>,
}

/// The best certified lower bound on `D` before the tree search, and its witness.
struct LowerBound {
    bits: u32,
    witness: LowerBoundWitness,
}

impl<'a> Summarizer<'a> {
    fn new(
        problem: &'a ProblemSpec,
        m: &'a CommMatrix,
        limits: &'a Limits,
        certify: bool,
        progress: &'a dyn Fn(&str),
    ) -> Self {
        Summarizer {
            problem,
            m,
            limits,
            certify,
            progress,
            answer_bit: u32::from(m.constant_value().is_none()),
            s: Summary {
                problem: problem.label(),
                rows: m.rows() as u64,
                cols: m.cols() as u64,
                ..Summary::default()
            },
            certs: Vec::new(),
        }
    }

    /// One-way CC in both directions (the distinct rows and columns).
    fn one_way(&mut self) -> OneWayOutcome {
        let (m, s) = (self.m, &mut self.s);
        (self.progress)("one-way communication (distinct rows and columns)");
        let a2b = one_way::one_way(m, Direction::AliceToBob);
        let b2a = one_way::one_way(m, Direction::BobToAlice);
        s.one_way_alice_to_bob = Some(a2b.bits);
        s.one_way_bob_to_alice = Some(b2a.bits);
        s.exact.one_way_alice_to_bob = true;
        s.exact.one_way_bob_to_alice = true;
        let speaker = if a2b.bits <= b2a.bits {
            Direction::AliceToBob
        } else {
            Direction::BobToAlice
        };
        let outcome = OneWayOutcome {
            speaker,
            upper: a2b.bits.min(b2a.bits) + self.answer_bit,
            distinct_rows: a2b.messages,
            distinct_cols: b2a.messages,
        };
        if self.certify {
            self.certs
                .push(("one_way_alice_to_bob.json".into(), Claim::OneWay(a2b)));
            self.certs
                .push(("one_way_bob_to_alice.json".into(), Claim::OneWay(b2a)));
        }
        outcome
    }

    /// Ranks of `M` and `J − M` over GF(2), when within `--gf2-work`; certificates only with
    /// `certify`.
    fn gf2_ranks(&mut self, complement: &CommMatrix, distinct_rows: u64) -> Option<RankPair> {
        let (m, limits, s) = (self.m, self.limits, &mut self.s);
        let gf2_work = gf2_work(distinct_rows, m.cols() as u64);
        if gf2_work > limits.gf2_max_work {
            s.limits_hit.push(format!(
                "GF(2) rank: about {:.1e} word operations ({distinct_rows} distinct rows x {} columns), over the limit of {:.1e} (raise {})",
                gf2_work as f64,
                m.cols(),
                limits.gf2_max_work as f64,
                Setting::Gf2Work
            ));
            return None;
        }
        (self.progress)("rank over GF(2) of M and J - M");
        let gf2_certs = self.certify.then(|| {
            (
                rank::certify_gf2(m, Of::Matrix),
                rank::certify_gf2(complement, Of::Complement),
            )
        });
        let ranks = match &gf2_certs {
            Some((cm, cc)) => (cm.rank, cc.rank),
            None => (rank::gf2_rank(m), rank::gf2_rank(complement)),
        };
        s.rank_gf2 = Some(ranks.0);
        s.rank_gf2_complement = Some(ranks.1);
        s.exact.rank_gf2 = true;
        s.exact.rank_gf2_complement = true;
        if let Some((cm, cc)) = &gf2_certs {
            self.certs
                .push(("rank_gf2.json".into(), Claim::Rank(cm.clone())));
            self.certs
                .push(("rank_gf2_complement.json".into(), Claim::Rank(cc.clone())));
        }
        Some(RankPair {
            matrix: ranks.0,
            complement: ranks.1,
            certs: gf2_certs,
        })
    }

    /// Ranks of `M` and `J − M` over the rationals, when within `--rational-entries`; their
    /// certificates are always kept (the lower-bound witness may need them).
    fn rational_ranks(&mut self, complement: &CommMatrix, distinct_rows: u64) -> Option<RankPair> {
        let (m, limits, s) = (self.m, self.limits, &mut self.s);
        let distinct_entries = distinct_rows * m.cols() as u64;
        if distinct_entries > limits.rational_max_entries {
            s.limits_hit.push(format!(
                "rational rank: {distinct_entries} entries in the distinct rows, over the limit of {} (raise {})",
                limits.rational_max_entries,
                Setting::RationalEntries
            ));
            return None;
        }
        (self.progress)("rank over the rationals (modular elimination)");
        let cm = rank::certify_rational(m, Of::Matrix, limits);
        (self.progress)("rank of J - M over the rationals");
        let cc = rank::certify_rational(complement, Of::Complement, limits);
        s.rank_rational = Some(cm.rank);
        s.rank_rational_complement = Some(cc.rank);
        s.exact.rank_rational = rank_upper_certified(&cm, m);
        s.exact.rank_rational_complement = rank_upper_certified(&cc, m);
        if !s.exact.rank_rational || !s.exact.rank_rational_complement {
            s.limits_hit.push(
                "rational rank: only the lower bound is certified (the dependencies were not found within the limits)".into(),
            );
        }
        if self.certify {
            self.certs
                .push(("rank_rational.json".into(), Claim::Rank(cm.clone())));
            self.certs.push((
                "rank_rational_complement.json".into(),
                Claim::Rank(cc.clone()),
            ));
        }
        Some(RankPair {
            matrix: cm.rank,
            complement: cc.rank,
            certs: Some((cm, cc)),
        })
    }

    /// Maximum 1- and 0-fooling sets (in that order), each within `--fooling-entries` and the
    /// graph's memory cap; the sets found, for the lower bound.
    fn fooling_sets(&mut self) -> Vec<FoolingSetCert> {
        let (m, limits, s) = (self.m, self.limits, &mut self.s);
        // The compatibility graph of V entries takes V²/8 bytes: however far --fooling-entries
        // is raised, no more entries than fit in FOOLING_MAX_GRAPH_BYTES.
        let fooling_limits = Limits {
            fooling_max_entries: limits.fooling_max_entries.min(FOOLING_MAX_GRAPH_ENTRIES),
            ..limits.clone()
        };
        let mut fooling_certs = Vec::new();
        for value in [true, false] {
            (self.progress)(if value {
                "maximum 1-fooling set"
            } else {
                "maximum 0-fooling set"
            });
            match fooling::max_fooling_set(m, value, &fooling_limits) {
                Some(c) => {
                    let size = c.pairs.len() as u64;
                    if value {
                        s.max_fooling_set_1 = Some(size);
                        s.exact.max_fooling_set_1 = c.proven_maximum;
                    } else {
                        s.max_fooling_set_0 = Some(size);
                        s.exact.max_fooling_set_0 = c.proven_maximum;
                    }
                    if !c.proven_maximum {
                        s.limits_hit.push(format!(
                            "{}-fooling set: the search stopped after {} nodes; {size} is a lower bound (raise {})",
                            u8::from(value),
                            c.search_nodes,
                            Setting::SearchNodes
                        ));
                    }
                    fooling_certs.push(c);
                }
                None if fooling_limits.fooling_max_entries < limits.fooling_max_entries => {
                    s.limits_hit.push(format!(
                        "{}-fooling set: more {}-entries than {FOOLING_MAX_GRAPH_ENTRIES}, whose compatibility graph (entries^2 / 8 bytes) would take more than {} ({} above {FOOLING_MAX_GRAPH_ENTRIES} cannot help)",
                        u8::from(value),
                        u8::from(value),
                        human_bytes(u128::from(FOOLING_MAX_GRAPH_BYTES)),
                        Setting::FoolingEntries
                    ))
                }
                None => s.limits_hit.push(format!(
                    "{}-fooling set: more {}-entries than the limit of {} (raise {})",
                    u8::from(value),
                    u8::from(value),
                    limits.fooling_max_entries,
                    Setting::FoolingEntries
                )),
            }
        }
        for c in &fooling_certs {
            if self.certify {
                self.certs.push((
                    format!("fooling_set_{}.json", c.value),
                    Claim::FoolingSet(c.clone()),
                ));
            }
        }
        fooling_certs
    }

    /// The certified lower bounds on `D` (non-constant, fooling sets, ranks over each field),
    /// each recorded in `bounds`; the best, with its witness.
    fn lower_bounds(
        &mut self,
        fooling_certs: &[FoolingSetCert],
        gf2: Option<RankPair>,
        rational: Option<RankPair>,
    ) -> LowerBound {
        let s = &mut self.s;
        let mut best_lower = self.answer_bit;
        let mut witness = LowerBoundWitness::Trivial;
        if self.answer_bit == 1 {
            s.bounds.push(Bound {
                bound: "non-constant matrix".into(),
                side: Side::Lower,
                bits: 1,
                certified: true,
            });
        }
        if let [one, zero] = fooling_certs {
            let bits = ceil_log2((one.pairs.len() + zero.pairs.len()) as u64);
            s.bounds.push(Bound {
                bound: format!(
                    "ceil(log2(|S1| + |S0|)) = ceil(log2({} + {}))",
                    one.pairs.len(),
                    zero.pairs.len()
                ),
                side: Side::Lower,
                bits,
                certified: true,
            });
            if bits > best_lower {
                best_lower = bits;
                witness = LowerBoundWitness::FoolingSets {
                    one: one.clone(),
                    zero: zero.clone(),
                };
            }
        }
        let minors = |p: RankPair| {
            let certs = p
                .certs
                .map(|(cm, cc)| (strip_dependencies(&cm), strip_dependencies(&cc)));
            (p.matrix, p.complement, certs)
        };
        for (field, (rm, rc, certs)) in [
            ("GF(2)", gf2.map_or((0, 0, None), minors)),
            ("Q", rational.map_or((0, 0, None), minors)),
        ] {
            if rm == 0 && rc == 0 {
                continue;
            }
            s.bounds.push(Bound {
                bound: format!("ceil(log2 rank M) over {field} = ceil(log2 {rm})"),
                side: Side::Lower,
                bits: ceil_log2(rm),
                certified: true,
            });
            let bits = ceil_log2(rm + rc);
            s.bounds.push(Bound {
                bound: format!(
                    "ceil(log2(rank M + rank(J-M))) over {field} = ceil(log2({rm} + {rc}))"
                ),
                side: Side::Lower,
                bits,
                certified: true,
            });
            if bits > best_lower {
                best_lower = bits;
                if let Some((matrix, complement)) = certs {
                    witness = LowerBoundWitness::Ranks { matrix, complement };
                }
            }
        }
        LowerBound {
            bits: best_lower,
            witness,
        }
    }

    /// The one-way protocols plus the answer bit, recorded as upper bounds in `bounds`.
    fn one_way_upper_bounds(&mut self) {
        let s = &mut self.s;
        for (dir, bits) in [
            ("Alice->Bob", s.one_way_alice_to_bob),
            ("Bob->Alice", s.one_way_bob_to_alice),
        ] {
            let bits = bits.unwrap_or(0) + self.answer_bit;
            s.bounds.push(Bound {
                bound: format!("one-way {dir} + answer bit"),
                side: Side::Upper,
                bits,
                certified: true,
            });
        }
    }

    /// `D`: settled at once when the lower bound meets the one-way upper bound, by the
    /// protocol-tree search otherwise; the protocol certificate with its witness. Returns the
    /// leaves of the tree found, a bound for the partition search.
    fn deterministic_cc(&mut self, one_way: &OneWayOutcome, best: LowerBound) -> Option<u64> {
        let (m, limits, s) = (self.m, self.limits, &mut self.s);
        let LowerBound {
            bits: best_lower,
            mut witness,
        } = best;
        let one_way_upper = one_way.upper;
        (self.progress)("deterministic CC (protocol-tree search)");
        let mut tree = None;
        let mut lower = best_lower;
        let mut upper = one_way_upper;
        if best_lower >= one_way_upper {
            if m.rows() as u64 * m.cols() as u64 <= PROTOCOL_CERT_MAX_ENTRIES {
                tree = Some(deterministic::one_way_tree(m, one_way.speaker));
            }
            lower = one_way_upper;
        } else {
            match deterministic::search(m, best_lower, limits) {
                Some(out) => {
                    lower = out.lower;
                    upper = out.upper;
                    if out.lower_from_search {
                        witness = LowerBoundWitness::Search { nodes: out.nodes };
                        s.bounds.push(Bound {
                            bound: format!(
                                "exhaustive protocol-tree search ({} nodes)",
                                out.nodes
                            ),
                            side: Side::Lower,
                            bits: out.lower,
                            certified: false,
                        });
                    }
                    if out.upper < one_way_upper {
                        s.bounds.push(Bound {
                            bound: "protocol tree found by search".into(),
                            side: Side::Upper,
                            bits: out.upper,
                            certified: true,
                        });
                    }
                    if out.budget_exhausted {
                        s.limits_hit.push(format!(
                            "deterministic CC: the search stopped after {} nodes with {} <= D <= {} (raise {})",
                            out.nodes,
                            out.lower,
                            out.upper,
                            Setting::SearchNodes
                        ));
                    }
                    tree = Some(out.tree);
                }
                None => s.limits_hit.push(format!(
                    "deterministic CC: more than {} distinct rows or columns for the tree search; {best_lower} <= D <= {one_way_upper} from the bounds",
                    limits.protocol_max_classes.min(64)
                )),
            }
        }
        s.deterministic_cc_lower = lower;
        s.deterministic_cc_upper = upper;
        if lower == upper {
            s.deterministic_cc = Some(upper);
            s.exact.deterministic_cc = true;
        }
        let leaves = tree.as_ref().map(deterministic::leaves);
        if self.certify {
            match tree {
                Some(tree) if lower == upper => self.certs.push((
                    "protocol.json".into(),
                    Claim::Protocol(ProtocolCert {
                        depth: upper,
                        tree,
                        lower_bound: witness,
                    }),
                )),
                _ => s.limits_hit.push(
                    "protocol certificate: not written (D not settled, or the tree would be too large)"
                        .into(),
                ),
            }
        }
        leaves
    }

    /// The 1-cover, 0-cover and partition numbers (the partition search bounded by the tree's
    /// `leaves`), when within `--rectangle-cells`.
    fn rectangles(&mut self, one_way: &OneWayOutcome, leaves: Option<u64>) {
        let (m, limits, s) = (self.m, self.limits, &mut self.s);
        let cells = one_way.distinct_rows * one_way.distinct_cols;
        if cells > limits.rectangle_max_cells {
            s.limits_hit.push(format!(
                "partition and cover numbers: {cells} distinct cells, over the limit of {} (raise {})",
                limits.rectangle_max_cells,
                Setting::RectangleCells
            ));
            return;
        }
        for kind in [
            RectangleKind::Cover1,
            RectangleKind::Cover0,
            RectangleKind::Partition,
        ] {
            (self.progress)(match kind {
                RectangleKind::Partition => "partition number",
                RectangleKind::Cover1 => "1-cover number",
                RectangleKind::Cover0 => "0-cover number",
            });
            let hint = (kind == RectangleKind::Partition)
                .then_some(leaves)
                .flatten();
            let Some(c) = rectangles::min_rectangles(m, kind, limits, hint) else {
                continue;
            };
            let n = c.rectangles.len() as u64;
            let (value, exact) = match kind {
                RectangleKind::Partition => {
                    (&mut s.partition_number, &mut s.exact.partition_number)
                }
                RectangleKind::Cover1 => (&mut s.cover_number_1, &mut s.exact.cover_number_1),
                RectangleKind::Cover0 => (&mut s.cover_number_0, &mut s.exact.cover_number_0),
            };
            *value = Some(n);
            *exact = c.proven_minimum;
            if !c.proven_minimum {
                s.limits_hit.push(format!(
                    "{}: the search stopped after {} nodes; {n} is an upper bound",
                    kind_name(kind),
                    c.search_nodes
                ));
            }
            if self.certify {
                self.certs
                    .push((format!("{}.json", kind_name(kind)), Claim::Rectangles(c)));
            }
        }
        if let (Some(p), true) = (s.partition_number, s.exact.partition_number) {
            s.bounds.push(Bound {
                bound: format!("ceil(log2 C^P) = ceil(log2 {p})"),
                side: Side::Lower,
                bits: ceil_log2(p),
                certified: false,
            });
        }
    }

    /// The summary, with each certificate wrapped in its file.
    fn finish(self) -> Summary {
        let problem = self.problem;
        let mut s = self.s;
        s.certificates = self
            .certs
            .into_iter()
            .map(|(name, claim)| (name, CertificateFile::new(problem.clone(), claim)))
            .collect();
        s
    }
}

fn kind_name(kind: RectangleKind) -> &'static str {
    match kind {
        RectangleKind::Partition => "partition",
        RectangleKind::Cover1 => "cover_1",
        RectangleKind::Cover0 => "cover_0",
    }
}

/// Whether the certificate proves `rank ≤ r` as well as `rank ≥ r`.
fn rank_upper_certified(c: &RankCert, m: &CommMatrix) -> bool {
    c.rank as usize == m.rows().min(m.cols()) || c.dependencies.is_some()
}

/// The lower half of a rank certificate (the minor), which is all a `D` lower bound needs.
fn strip_dependencies(c: &RankCert) -> RankCert {
    RankCert {
        dependencies: None,
        ..c.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry cap is the largest V whose V²/8-byte graph fits.
    #[test]
    fn the_fooling_graph_cap_fits_its_memory() {
        let bytes = |v: u64| u128::from(v) * u128::from(v) / 8;
        assert!(bytes(FOOLING_MAX_GRAPH_ENTRIES) <= u128::from(FOOLING_MAX_GRAPH_BYTES));
        assert!(bytes(FOOLING_MAX_GRAPH_ENTRIES + 1) > u128::from(FOOLING_MAX_GRAPH_BYTES));
    }

    /// `--fooling-entries` at its largest no longer lets the search allocate an adjacency of
    /// entries² bits (DISJ_12: 3^12 one-entries, 35 GB, which aborted): over the cap the
    /// fooling sets are not computed, and the reason says raising the flag cannot help.
    #[test]
    fn raising_fooling_entries_past_the_graph_cap_is_not_computed() {
        let spec = ProblemSpec::Disj { n: 12 };
        let m = spec.matrix().unwrap();
        let limits = Limits {
            fooling_max_entries: u64::MAX,
            search_nodes: 1,
            rational_max_entries: 0,
            gf2_max_work: 0,
            ..Limits::default()
        };
        let certify = false;
        let s = summarize(&spec, &m, &limits, certify, &|_| {});
        assert_eq!(s.max_fooling_set_1, None);
        assert!(
            s.limits_hit
                .iter()
                .any(|l| l.starts_with("1-fooling set") && l.contains("cannot help")),
            "{:?}",
            s.limits_hit
        );
    }
}
