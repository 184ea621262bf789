//! The arithmetic every model runs on: `numeric`'s rounding contract applied to whole slices.
//!
//! Models keep activations in *lane layout*: a block of `L` sequences processed together stores a
//! vector `v` of dimension `n` as `n · L` numbers, `v[i]` of lane `b` at `i · L + b`. A single
//! sequence is the case `L = 1`. Every lane is computed independently and by the same operations
//! in the same order, so a sequence gives the same bits whether it runs alone or in a batch.
//!
//! `Arith` is a resolved `Precision` with a fast path for its rounding. Its operations round as
//! `numeric` documents: after every elementwise operation and after every dot product.
//! - `matvec`: each row of `W` times `x` is one dot product. With `Accumulate::Wide` the products
//!   are summed in `f64` from `k = 0` upward, starting from `−0.0` exactly as `Precision::dot`
//!   does, and the sum is rounded once; with `Accumulate::Format` every product and every partial
//!   sum is rounded (`Precision::dot`'s definition, per lane).
//! - the elementwise operations (`add`, `mul`, activations, …) compute in `f64` and round.
//! - activations: `exp`, `tanh`, `sigmoid = 1/(1 + exp(−x))` and `elu(x) + 1` are evaluated in
//!   `f64` by the polynomial kernels below (a few ulp of `f64`, like libm's, and vectorisable),
//!   then rounded once; the GELU `x·0.5·(1 + erf(x/√2))` with `libm`'s `erf`, rounded once.
//!
//! Rounding a slice takes a fast path where the format allows (`f64`: only NaNs are counted;
//! `f32` with nearest-even: the hardware conversion; other floats and fixed point: a branch-free
//! scaled rounding) and falls back to `Precision::round` for any chunk that holds a value the fast
//! path cannot settle (NaN, saturation). The fast paths agree with `Precision::round` bit for bit
//! (tested below). The hot kernels are compiled for AVX-512 and AVX2 as well as the baseline and
//! chosen at run time; all variants perform the same IEEE operations in the same order (no
//! fused multiply-add), so the choice never changes a result.

use std::borrow::Cow;

use crate::error::InputError;
use crate::numeric::{Accumulate, Format, Precision, Rounding, Stats};

/// Compiles a function for AVX-512, for AVX2 and for the baseline target, and dispatches on what
/// the CPU has. The body must be safe code; every variant performs the same IEEE operations in
/// the same order (no fused multiply-add is introduced by the compiler), so the variants agree
/// bit for bit.
///
/// A function written `fn name<const FUSED: bool>(args)` is called as `name(args, fused)`: with
/// `fused` set and a CPU that has FMA, the body runs with `FUSED = true` in variants compiled
/// with FMA as well (for bodies that call `mul_add` only where the products are exact, so that
/// the fused and unfused sums are the same numbers); otherwise with `FUSED = false`.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?
        $body:block) => {
        $(#[$m])*
        #[inline]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            multiversion!(@dispatch imp, ["avx512f,avx512dq,avx512vl,avx2,avx", "avx2,avx"],
                ($($arg: $ty),*) $(-> $ret)?);
            imp($($arg),*)
        }
    };
    ($(#[$m:meta])* $vis:vis fn $name:ident<const $c:ident: bool>($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        #[inline]
        $vis fn $name($($arg: $ty,)* fused: bool) $(-> $ret)? {
            #[inline(always)]
            fn imp<const $c: bool>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                if fused && std::arch::is_x86_feature_detected!("fma") {
                    multiversion!(@dispatch imp::<true>,
                        ["avx512f,avx512dq,avx512vl,avx2,avx,fma", "avx2,avx,fma"],
                        ($($arg: $ty),*) $(-> $ret)?);
                }
            }
            let _ = fused;
            multiversion!(@dispatch imp::<false>, ["avx512f,avx512dq,avx512vl,avx2,avx", "avx2,avx"],
                ($($arg: $ty),*) $(-> $ret)?);
            imp::<false>($($arg),*)
        }
    };
    // Returns from the enclosing function through the AVX-512 or the AVX2 variant of `$imp`
    // where the CPU has those features; falls through otherwise.
    (@dispatch $imp:path, [$avx512:literal, $avx2:literal], ($($arg:ident: $ty:ty),*)
        $(-> $ret:ty)?) => {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = $avx512)]
            fn avx512($($arg: $ty),*) $(-> $ret)? { $imp($($arg),*) }
            #[target_feature(enable = $avx2)]
            fn avx2($($arg: $ty),*) $(-> $ret)? { $imp($($arg),*) }
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                // SAFETY: the CPU has the features `avx512` is compiled for (checked above, and
                // FMA by the caller where they include it).
                return unsafe { avx512($($arg),*) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked above, and FMA by the caller where the
                // features include it).
                return unsafe { avx2($($arg),*) };
            }
        }
    };
}

pub(crate) use multiversion;

/// `acc + w·x`, as one fused multiply-add where `FUSED` (only for exact products, where the two
/// are the same number).
#[inline(always)]
pub(crate) fn mul_acc<const FUSED: bool>(acc: f64, w: f64, x: f64) -> f64 {
    if FUSED {
        w.mul_add(x, acc)
    } else {
        acc + w * x
    }
}

/// Lanes per block in batched runs.
pub(crate) const LANES: usize = 16;

/// `1.5 · 2^52`: adding and subtracting it rounds an `f64` of magnitude below `2^51` to an
/// integer, ties to even.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// How `Arith` rounds a slice.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// `f64`: the identity (NaNs are counted).
    Exact,
    /// `f32` with nearest-even: the conversion to `f32` and back.
    F32,
    /// A float with `man_bits ≥ 1` stored mantissa bits and minimum exponent `emin`.
    Float {
        man_bits: i64,
        emin: i64,
        down: bool,
    },
    /// Fixed point with `I + F ≤ 50`: scale by `2^F`, round to an integer, scale back.
    Fixed { scale: f64, inv: f64, down: bool },
    /// Anything else: `Precision::round` one value at a time.
    Slow,
}

/// Largest fixed-point format (`I + F` bits) whose activations are tabulated.
const TABLE_BITS: u32 = 12;

/// `round(act(x))` for every grid point `x = k / 2^F`, `|k| ≤ K`, of a small fixed-point format,
/// and whether rounding saturated there: the same bits `apply_act` then `round_slice` give,
/// because the table is made by calling exactly those on the grid. Index `k + K`.
#[derive(Debug)]
struct ActTables {
    /// `K = max · 2^F`.
    k_max: i64,
    scale: f64,
    tanh: Vec<(f64, bool)>,
    sigmoid: Vec<(f64, bool)>,
    exp: Vec<(f64, bool)>,
}

impl ActTables {
    /// The tables of a fixed-point precision with `I + F ≤ TABLE_BITS`, built once per format
    /// and rounding mode and kept for the life of the process (a few KiB each, at most a few
    /// dozen formats).
    fn get(prec: &Precision, ar: &Arith) -> Option<&'static ActTables> {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        let Format::Fixed {
            int_bits,
            frac_bits,
        } = prec.format()
        else {
            return None;
        };
        if int_bits + frac_bits > TABLE_BITS {
            return None;
        }
        type Cache = Mutex<HashMap<(u32, u32, bool), &'static ActTables>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let key = (int_bits, frac_bits, prec.rounding() == Rounding::Down);
        let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
        let t = cache.entry(key).or_insert_with(|| {
            let scale = 2f64.powi(frac_bits as i32);
            // `max · 2^F = 2^(I+F) − 1`, taken from the bits (at most TABLE_BITS) rather than
            // from `max`, so the table's size is bounded whatever the precision claims.
            let k_max = (1i64 << (int_bits + frac_bits)) - 1;
            let grid: Vec<f64> = (-k_max..=k_max).map(|k| k as f64 / scale).collect();
            let table = |act: Act| {
                let mut v = grid.clone();
                apply_act(&mut v, act);
                v.iter()
                    .map(|&y| {
                        let mut one = [y];
                        let mut st = Stats::default();
                        ar.round_slice(&mut one, &mut st);
                        (one[0], st.saturated > 0)
                    })
                    .collect()
            };
            Box::leak(Box::new(ActTables {
                k_max,
                scale,
                tanh: table(Act::Tanh),
                sigmoid: table(Act::Sigmoid),
                exp: table(Act::Exp),
            }))
        });
        Some(*t)
    }

    fn of(&self, act: Act) -> Option<&[(f64, bool)]> {
        match act {
            Act::Tanh => Some(&self.tanh),
            Act::Sigmoid => Some(&self.sigmoid),
            Act::Exp => Some(&self.exp),
            _ => None,
        }
    }
}

/// A resolved precision and its rounding fast path.
#[derive(Clone, Copy, Debug)]
pub struct Arith {
    prec: Precision,
    kind: Kind,
    /// Activation tables of a small fixed-point format (`None` otherwise).
    tables: Option<&'static ActTables>,
    max: f64,
    /// Every value of the format has at most 26 significant bits, so the product of two of them
    /// is exact in `f64` and a fused multiply-add gives the same bits as multiply-then-add.
    exact_products: bool,
}

impl Arith {
    /// Fails for `paper:K` before the length is known (`Precision::for_length` resolves it).
    pub fn new(prec: &Precision) -> Result<Self, InputError> {
        let down = prec.rounding() == Rounding::Down;
        let kind = match prec.format() {
            Format::Paper { k } => {
                return Err(InputError::new(format!(
                    "paper:{k} needs the input length N before a model can run at it"
                )));
            }
            Format::F64 => Kind::Exact,
            Format::Float {
                exp_bits: 8,
                man_bits: 23,
                finite_only: false,
            } if !down => Kind::F32,
            Format::Float {
                exp_bits, man_bits, ..
            } if (1..=50).contains(&man_bits) => Kind::Float {
                man_bits: i64::from(man_bits),
                emin: 2 - (1i64 << (exp_bits - 1)),
                down,
            },
            Format::Fixed {
                int_bits,
                frac_bits,
            } if int_bits + frac_bits <= 50 => {
                let scale = 2f64.powi(frac_bits as i32);
                Kind::Fixed {
                    scale,
                    inv: 1.0 / scale,
                    down,
                }
            }
            _ => Kind::Slow,
        };
        let exact_products = match prec.format() {
            Format::Float { man_bits, .. } => man_bits < 26,
            Format::Fixed {
                int_bits,
                frac_bits,
            } => int_bits + frac_bits <= 26,
            _ => false,
        };
        let mut ar = Arith {
            prec: *prec,
            kind,
            tables: None,
            max: prec.max_finite(),
            exact_products,
        };
        ar.tables = ActTables::get(prec, &ar);
        Ok(ar)
    }

    pub fn precision(&self) -> &Precision {
        &self.prec
    }

    /// Rounds one value (`Precision::round`).
    #[inline]
    pub fn round(&self, x: f64, stats: &mut Stats) -> f64 {
        self.prec.round(x, stats)
    }

    /// Rounds every value of `xs` in place.
    pub fn round_slice(&self, xs: &mut [f64], stats: &mut Stats) {
        match self.kind {
            Kind::Exact => stats.nan += count_nan(xs),
            Kind::Slow => xs.iter_mut().for_each(|x| *x = self.prec.round(*x, stats)),
            Kind::F32 | Kind::Float { .. } | Kind::Fixed { .. } => {
                let mut orig = [0.0f64; 64];
                for chunk in xs.chunks_mut(64) {
                    let orig = &mut orig[..chunk.len()];
                    orig.copy_from_slice(chunk);
                    let (ok, saturated) = match self.kind {
                        Kind::F32 => round_f32_chunk(chunk, self.max),
                        Kind::Float {
                            man_bits,
                            emin,
                            down,
                        } => round_float_chunk(chunk, self.max, man_bits, emin, down),
                        Kind::Fixed { scale, inv, down } => {
                            round_fixed_chunk(chunk, self.max, scale, inv, down)
                        }
                        Kind::Exact | Kind::Slow => unreachable!("matched above"),
                    };
                    if ok {
                        stats.saturated += saturated;
                    } else {
                        for (x, &o) in chunk.iter_mut().zip(orig.iter()) {
                            *x = self.prec.round(o, stats);
                        }
                    }
                }
            }
        }
    }

    /// `out[r·L + b] = Σ_k W[r][k] · x[k·L + b]` rounded as one dot product per row and lane.
    /// `w` is `rows × cols` row-major, `x` has `cols · L` and `out` `rows · L` numbers.
    /// Cost: `rows · cols · L` multiply-adds.
    pub fn matvec(
        &self,
        w: &[f64],
        cols: usize,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        let rows = out.len() / lanes;
        debug_assert_eq!(w.len(), rows * cols);
        debug_assert_eq!(x.len(), cols * lanes);
        match self.prec.accumulate() {
            Accumulate::Wide => {
                // Fused multiply-adds where the products are exact, on blocks of lanes.
                let fused = self.exact_products && lanes == LANES;
                matvec_wide(w, rows, cols, x, lanes, out, fused);
                self.round_slice(out, stats);
            }
            Accumulate::Format => {
                for r in 0..rows {
                    let row = &w[r * cols..(r + 1) * cols];
                    for b in 0..lanes {
                        out[r * lanes + b] = self.dot_format(row, x, lanes, b, stats);
                    }
                }
            }
        }
    }

    /// Lane `b` of one row of `matvec` with `Accumulate::Format`: every product and every
    /// partial sum rounded, from `+0.0` and `k = 0` upward.
    #[inline]
    fn dot_format(&self, row: &[f64], x: &[f64], lanes: usize, b: usize, stats: &mut Stats) -> f64 {
        let mut acc = 0.0;
        for (k, &wk) in row.iter().enumerate() {
            let p = self.prec.round(wk * x[k * lanes + b], stats);
            acc = self.prec.round(acc + p, stats);
        }
        acc
    }

    /// `matvec` that skips products which are exactly zero: the same bits in `out` and the same
    /// counts in `stats` as `matvec(w, cols, x, lanes, out, stats)` (see "Skipping zeros" below
    /// for why), at a cost of about `nnz(W) · L` multiply-adds when `sparsity` holds a
    /// compressed row form and `x` is finite, or `rows · c · L` when only `c ≤ cols / 4` columns
    /// of `x` are nonzero in some lane and every weight is finite; otherwise it is `matvec`.
    /// `sparsity` must describe `w` (`Sparsity::of(w, rows, cols)`).
    ///
    /// # Skipping zeros
    ///
    /// A skipped product is `w · x` with one factor `±0` and the other finite, so it is `±0`.
    /// - `Accumulate::Wide`: the dense sum starts at `−0` and adds the products in `f64` (or
    ///   fuses them, which gives the same number when they are exact). With round-to-nearest, a
    ///   nonzero accumulator plus `±0` is unchanged, `±0` plus a nonzero `t` is `t`, and a sum of
    ///   nonzero numbers that cancels is `+0`, never `−0`; so every partial sum that is nonzero
    ///   is the same with or without the zero terms, and the only difference the zero terms can
    ///   make is the sign of a zero result: the dense sum is `−0` exactly when every product is
    ///   `−0`. The sparse sum (same order, from `−0`) is therefore the dense one unless it is
    ///   `−0`; then every kept product was `−0`, and it becomes `+0` if any product of the row
    ///   is `+0` (a scan with early exit, done only for such rows and lanes). The rounding of
    ///   `out` is the same call on the same numbers, so `stats` agree too. `±∞` or NaN
    ///   accumulators absorb `±0` unchanged.
    /// - `Accumulate::Format`: a skipped step is `acc = round(acc + round(±0))`. `round(±0)` is
    ///   `±0` and counts nothing (not NaN, not beyond `max`); `acc` starts at `+0` and is
    ///   otherwise a value `round` returned, which `round` leaves unchanged without counting
    ///   (it is on the grid and within `±max`), and `+0 + ±0 = +0`. So a skipped step changes
    ///   nothing while `acc` is `+0`, nonzero and finite, or `±∞` (`f64` only). A lane whose
    ///   sparse accumulator is ever `−0` or NaN (where a skipped step could flip the sign or
    ///   count a NaN) is recomputed densely, with the dense path's counts.
    pub(crate) fn matvec_sparse(
        &self,
        (w, cols): (&[f64], usize),
        sparsity: &Sparsity,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        if !SPARSE_PATHS.load(std::sync::atomic::Ordering::Relaxed) {
            return self.matvec(w, cols, x, lanes, out, stats);
        }
        debug_assert_eq!(w.len(), out.len() / lanes * cols);
        let row = |r: usize| Cow::Borrowed(&w[r * cols..(r + 1) * cols]);
        if let Some(csr) = &sparsity.csr
            && all_finite(x)
        {
            self.matvec_entries(|r| csr.row(r), &row, x, lanes, out, stats);
        } else if let Some(nz) = sparsity
            .finite
            .then(|| nonzero_columns(x, cols, lanes, cols / SPARSE_INPUT_RATIO))
            .flatten()
        {
            let entries = |r: usize| nz.iter().map(move |&k| (k, w[r * cols + k]));
            self.matvec_entries(entries, &row, x, lanes, out, stats);
        } else {
            self.matvec(w, cols, x, lanes, out, stats);
        }
    }

    /// `matvec` of the `rows × cols` matrix held only as `csr` (`+0` at every entry it does
    /// not list; `rows = out.len() / lanes`): the same bits in `out` and counts in `stats` as
    /// `matvec` on its dense form, which is never built. A finite `x` costs about
    /// `nnz · L` (the compressed-row path of `matvec_sparse`, whose rare fallbacks read a
    /// dense copy of one row); an `x` with a NaN or `±∞` (where `+0 · ∞` is NaN) runs `matvec`
    /// on dense blocks of rows, `O(rows · cols · L)` but never more than a block in memory.
    /// `csr` must have `rows + 1` starts and columns below `cols`.
    pub(crate) fn matvec_csr(
        &self,
        csr: &Csr,
        cols: usize,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        debug_assert_eq!(csr.starts.len(), out.len() / lanes + 1);
        debug_assert_eq!(x.len(), cols * lanes);
        if !SPARSE_PATHS.load(std::sync::atomic::Ordering::Relaxed) {
            return self.matvec_csr_dense(csr, cols, x, lanes, out, stats);
        }
        if all_finite_simd(x) {
            let row = |r: usize| Cow::Owned(csr.dense_row(r, cols));
            if lanes == LANES && self.prec.accumulate() == Accumulate::Wide {
                // `matvec_entries`' `Wide` path, with its loops compiled per CPU.
                csr_wide_lanes(&csr.starts, &csr.cols, &csr.vals, x, out);
                if any_negative_zero_simd(out) {
                    fix_negative_zeros(&row, x, lanes, out);
                }
                self.round_slice(out, stats);
            } else {
                self.matvec_entries(|r| csr.row(r), &row, x, lanes, out, stats);
            }
        } else {
            self.matvec_csr_dense(csr, cols, x, lanes, out, stats);
        }
    }

    /// `matvec_csr` through `matvec` on dense blocks of rows. A block has a multiple of 64 rows
    /// (its `out` then starts on a 64-number boundary, so `round_slice` sees the same chunks as
    /// on the whole `out`) and about `DENSE_BLOCK_ENTRIES` entries; rows are independent in
    /// `matvec`, so the bits and counts are those of the whole dense matrix.
    fn matvec_csr_dense(
        &self,
        csr: &Csr,
        cols: usize,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        let rows = out.len() / lanes;
        let block = (DENSE_BLOCK_ENTRIES / cols.max(1))
            .max(1)
            .next_multiple_of(64);
        let mut w = Vec::new();
        for r0 in (0..rows).step_by(block) {
            let r1 = (r0 + block).min(rows);
            w.clear();
            w.resize((r1 - r0) * cols, 0.0);
            for r in r0..r1 {
                for (k, v) in csr.row(r) {
                    w[(r - r0) * cols + k] = v;
                }
            }
            self.matvec(&w, cols, x, lanes, &mut out[r0 * lanes..r1 * lanes], stats);
        }
    }

    /// `matvec` over the products `entries(r)` lists for row `r` (column, weight; columns
    /// ascending), every other product of the dense matrix being an exact zero times a finite
    /// number (the caller's guarantee; see `matvec_sparse` for why the bits then agree; the
    /// list may also hold zero weights, which that argument allows). `row(r)` is the dense row
    /// `r`, read only by the rare fallbacks (a `−0` sum, a `Format` lane that meets `−0` or NaN).
    fn matvec_entries<'w, I: Iterator<Item = (usize, f64)>>(
        &self,
        entries: impl Fn(usize) -> I,
        row: &dyn Fn(usize) -> Cow<'w, [f64]>,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        let rows = out.len() / lanes;
        match self.prec.accumulate() {
            Accumulate::Wide => {
                match lanes {
                    LANES => sparse_wide::<LANES, I>(rows, &entries, x, out),
                    1 => sparse_wide::<1, I>(rows, &entries, x, out),
                    _ => {
                        for r in 0..rows {
                            let acc = &mut out[r * lanes..(r + 1) * lanes];
                            acc.fill(-0.0);
                            for (k, wk) in entries(r) {
                                for (a, &xv) in acc.iter_mut().zip(&x[k * lanes..(k + 1) * lanes]) {
                                    *a += wk * xv;
                                }
                            }
                        }
                    }
                }
                fix_negative_zeros(row, x, lanes, out);
                self.round_slice(out, stats);
            }
            Accumulate::Format => {
                for r in 0..rows {
                    for b in 0..lanes {
                        let mut local = Stats::default();
                        let mut acc = 0.0f64;
                        let mut exact = true;
                        for (k, wk) in entries(r) {
                            let p = self.prec.round(wk * x[k * lanes + b], &mut local);
                            acc = self.prec.round(acc + p, &mut local);
                            exact &= !acc.is_nan() && acc.to_bits() != NEG_ZERO_BITS;
                        }
                        out[r * lanes + b] = if exact {
                            stats.merge(local);
                            acc
                        } else {
                            self.dot_format(&row(r), x, lanes, b, stats)
                        };
                    }
                }
            }
        }
    }

    /// `out[b] = Σ_i a[i·L + b] · c[i·L + b]`: a dot product between two lane vectors, per lane.
    pub fn dot_lanes(
        &self,
        a: &[f64],
        c: &[f64],
        lanes: usize,
        out: &mut [f64],
        stats: &mut Stats,
    ) {
        let n = a.len() / lanes;
        match self.prec.accumulate() {
            Accumulate::Wide => {
                out.fill(-0.0);
                for i in 0..n {
                    let (ai, ci) = (
                        &a[i * lanes..(i + 1) * lanes],
                        &c[i * lanes..(i + 1) * lanes],
                    );
                    for ((o, &x), &y) in out.iter_mut().zip(ai).zip(ci) {
                        *o += x * y;
                    }
                }
                self.round_slice(out, stats);
            }
            Accumulate::Format => {
                out.fill(0.0);
                for i in 0..n {
                    for b in 0..lanes {
                        let p = self.prec.round(a[i * lanes + b] * c[i * lanes + b], stats);
                        out[b] = self.prec.round(out[b] + p, stats);
                    }
                }
            }
        }
    }

    /// `out[b] = Σ_i a[i·L + b]`, rounded as a dot product with the all-ones vector.
    pub fn sum_lanes(&self, a: &[f64], lanes: usize, out: &mut [f64], stats: &mut Stats) {
        let n = a.len() / lanes;
        match self.prec.accumulate() {
            Accumulate::Wide => {
                out.fill(-0.0);
                for i in 0..n {
                    for (o, &x) in out.iter_mut().zip(&a[i * lanes..(i + 1) * lanes]) {
                        *o += x;
                    }
                }
                self.round_slice(out, stats);
            }
            Accumulate::Format => {
                out.fill(0.0);
                for i in 0..n {
                    for b in 0..lanes {
                        out[b] = self.prec.round(out[b] + a[i * lanes + b], stats);
                    }
                }
            }
        }
    }

    /// `xs[r·L + b] = round(xs[r·L + b] + bias[r])`.
    pub fn add_bias(&self, xs: &mut [f64], bias: &[f64], lanes: usize, stats: &mut Stats) {
        for (row, &c) in xs.chunks_exact_mut(lanes).zip(bias) {
            row.iter_mut().for_each(|x| *x += c);
        }
        self.round_slice(xs, stats);
    }

    /// `xs[r·L + b] = round(xs[r·L + b] · v[r])`.
    pub fn mul_rows(&self, xs: &mut [f64], v: &[f64], lanes: usize, stats: &mut Stats) {
        for (row, &c) in xs.chunks_exact_mut(lanes).zip(v) {
            row.iter_mut().for_each(|x| *x *= c);
        }
        self.round_slice(xs, stats);
    }

    /// `a = round(a + b)`.
    pub fn add(&self, a: &mut [f64], b: &[f64], stats: &mut Stats) {
        a.iter_mut().zip(b).for_each(|(x, &y)| *x += y);
        self.round_slice(a, stats);
    }

    /// `a = round(a − b)`.
    pub fn sub(&self, a: &mut [f64], b: &[f64], stats: &mut Stats) {
        a.iter_mut().zip(b).for_each(|(x, &y)| *x -= y);
        self.round_slice(a, stats);
    }

    /// `a = round(a · b)`.
    pub fn mul(&self, a: &mut [f64], b: &[f64], stats: &mut Stats) {
        a.iter_mut().zip(b).for_each(|(x, &y)| *x *= y);
        self.round_slice(a, stats);
    }

    /// `a = round(a / b)`.
    pub fn div(&self, a: &mut [f64], b: &[f64], stats: &mut Stats) {
        a.iter_mut().zip(b).for_each(|(x, &y)| *x /= y);
        self.round_slice(a, stats);
    }

    /// `a = round(a · c)` for a scalar `c`.
    pub fn scale(&self, a: &mut [f64], c: f64, stats: &mut Stats) {
        a.iter_mut().for_each(|x| *x *= c);
        self.round_slice(a, stats);
    }

    /// `a = round(a + c)` for a scalar `c`.
    pub fn add_scalar(&self, a: &mut [f64], c: f64, stats: &mut Stats) {
        a.iter_mut().for_each(|x| *x += c);
        self.round_slice(a, stats);
    }

    /// `xs = round(act(xs))`.
    pub fn act(&self, xs: &mut [f64], act: Act, stats: &mut Stats) {
        if let Some(table) = self.tables.and_then(|t| t.of(act)) {
            // Cost: one lookup per value instead of a polynomial and a rounding.
            // Inputs on the grid (the usual case: they were just rounded) are looked up; any
            // other value (off the grid, NaN, −0.0) is computed as below.
            let t = self.tables.expect("tables present");
            for x in xs.iter_mut() {
                let k = *x * t.scale;
                // An integer `k` converts back to the same bits; −0.0 and NaN do not.
                let ki = k as i64;
                if (ki as f64).to_bits() == k.to_bits() && ki.unsigned_abs() <= t.k_max as u64 {
                    let (y, sat) = table[(ki + t.k_max) as usize];
                    *x = y;
                    stats.saturated += u64::from(sat);
                } else {
                    let mut one = [*x];
                    apply_act(&mut one, act);
                    *x = self.prec.round(one[0], stats);
                }
            }
            return;
        }
        apply_act(xs, act);
        self.round_slice(xs, stats);
    }
}

/// An elementwise function, evaluated in `f64` and then rounded once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Tanh,
    Sigmoid,
    Relu,
    Exp,
    /// `elu(x) + 1`: `x + 1` for `x > 0`, `exp(x)` otherwise (linear attention's feature map).
    EluPlusOne,
    /// `1 − x`.
    OneMinus,
    Sqrt,
    /// The exact GELU `x · 0.5 · (1 + erf(x · (1/√2)))`, PyTorch's formula and order.
    Gelu,
}

fn count_nan(xs: &[f64]) -> u64 {
    xs.iter().filter(|x| x.is_nan()).count() as u64
}

/// The rounding fast paths, one value: the candidate result; a value whose candidate is not
/// within `±max` (NaN, overflow) goes to `Precision::round`.
#[inline(always)]
fn magic_round(y: f64, down: bool) -> f64 {
    let t = (y + MAGIC) - MAGIC;
    if down && t > y { t - 1.0 } else { t }
}

/// `2^k` for `−1022 ≤ k ≤ 1023`.
#[inline(always)]
fn pow2i(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

#[inline(always)]
fn float_fast(x: f64, man_bits: i64, emin: i64, down: bool) -> f64 {
    // The quantum of `x` in the target format is 2^q, q = max(e, emin) − M (as in `numeric`);
    // |x / 2^q| < 2^(M+1) ≤ 2^51, so the magic-number rounding is exact.
    let e = ((x.to_bits() >> 52) & 0x7ff) as i64 - 1023;
    let q = e.max(emin) - man_bits;
    let t = magic_round(x * pow2i(-q), down);
    (t * pow2i(q)).copysign(x)
}

#[inline(always)]
fn fixed_fast(x: f64, scale: f64, inv: f64, down: bool) -> f64 {
    (magic_round(x * scale, down) * inv).copysign(x)
}

/// Saturates a fast-path candidate as `Precision::round` does; false if it is NaN (the slow
/// path then redoes the chunk).
#[inline(always)]
fn saturate(r: f64, max: f64, ok: &mut bool, saturated: &mut u64) -> f64 {
    *ok &= !r.is_nan();
    let over = r.abs() > max;
    *saturated += u64::from(over);
    if over { max.copysign(r) } else { r }
}

multiversion! {
    /// The float fast path on a chunk: (no NaN met, values saturated).
    fn round_float_chunk(chunk: &mut [f64], max: f64, man_bits: i64, emin: i64, down: bool) -> (bool, u64) {
        let (mut ok, mut sat) = (true, 0);
        for x in chunk.iter_mut() {
            *x = saturate(float_fast(*x, man_bits, emin, down), max, &mut ok, &mut sat);
        }
        (ok, sat)
    }
}

multiversion! {
    /// The fixed-point fast path on a chunk: (no NaN met, values saturated). Magnitudes beyond
    /// `2^51 / scale` round approximately but saturate anyway (they exceed `max`).
    fn round_fixed_chunk(chunk: &mut [f64], max: f64, scale: f64, inv: f64, down: bool) -> (bool, u64) {
        let (mut ok, mut sat) = (true, 0);
        for x in chunk.iter_mut() {
            *x = saturate(fixed_fast(*x, scale, inv, down), max, &mut ok, &mut sat);
        }
        (ok, sat)
    }
}

multiversion! {
    /// The `f32` fast path on a chunk: (no NaN met, values saturated); the conversion gives
    /// `±∞` on overflow, which saturates.
    fn round_f32_chunk(chunk: &mut [f64], max: f64) -> (bool, u64) {
        let (mut ok, mut sat) = (true, 0);
        for x in chunk.iter_mut() {
            *x = saturate(f64::from(*x as f32), max, &mut ok, &mut sat);
        }
        (ok, sat)
    }
}

multiversion! {
    /// Unrounded `W x` per lane: the sum of products from `k = 0` upward, starting at `−0.0`
    /// (`fused`: the products are exact, and the CPUs that have FMA use it, with the same bits).
    fn matvec_wide<const FUSED: bool>(
        w: &[f64],
        rows: usize,
        cols: usize,
        x: &[f64],
        lanes: usize,
        out: &mut [f64],
    ) {
        match lanes {
            LANES => matvec_block::<FUSED, LANES>(w, rows, cols, x, out),
            1 => matvec_block::<FUSED, 1>(w, rows, cols, x, out),
            _ => {
                for r in 0..rows {
                    let acc = &mut out[r * lanes..(r + 1) * lanes];
                    acc.fill(-0.0);
                    for (k, &wk) in w[r * cols..(r + 1) * cols].iter().enumerate() {
                        for (a, &xv) in acc.iter_mut().zip(&x[k * lanes..(k + 1) * lanes]) {
                            *a = mul_acc::<FUSED>(*a, wk, xv);
                        }
                    }
                }
            }
        }
    }
}

multiversion! {
    fn apply_act(xs: &mut [f64], act: Act) {
        match act {
            Act::Tanh => xs.iter_mut().for_each(|x| *x = tanh(*x)),
            Act::Sigmoid => xs.iter_mut().for_each(|x| *x = sigmoid(*x)),
            Act::Relu => xs.iter_mut().for_each(|x| *x = if *x < 0.0 { 0.0 } else { *x }),
            Act::Exp => xs.iter_mut().for_each(|x| *x = exp(*x)),
            Act::EluPlusOne => xs.iter_mut().for_each(|x| *x = if *x > 0.0 { *x + 1.0 } else { exp(*x) }),
            Act::OneMinus => xs.iter_mut().for_each(|x| *x = 1.0 - *x),
            Act::Sqrt => xs.iter_mut().for_each(|x| *x = x.sqrt()),
            Act::Gelu => xs
                .iter_mut()
                .for_each(|x| *x = *x * 0.5 * (1.0 + libm::erf(*x * std::f64::consts::FRAC_1_SQRT_2))),
        }
    }
}

/// Test switch: while it is off, `matvec_sparse` runs `matvec`, so that a test can compare
/// whole runs through both paths (they agree bit for bit, so flipping it cannot change another
/// test's results).
pub(crate) static SPARSE_PATHS: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(true);

/// Runs `f` with `SPARSE_PATHS` off (one such test at a time), restoring it afterwards even if
/// `f` panics.
pub(crate) fn dense_only<T>(f: impl FnOnce() -> T) -> T {
    use std::sync::atomic::Ordering;
    use std::sync::{Mutex, PoisonError};
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            SPARSE_PATHS.store(true, Ordering::Relaxed);
        }
    }
    static LOCK: Mutex<()> = Mutex::new(());
    let _lock = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let _restore = Restore;
    SPARSE_PATHS.store(false, Ordering::Relaxed);
    f()
}

/// Bits of `−0.0`.
const NEG_ZERO_BITS: u64 = 0x8000_0000_0000_0000;

/// Entries of a dense block of rows in `Arith::matvec_csr`'s fallback (rounded up to 64 rows).
const DENSE_BLOCK_ENTRIES: usize = 1 << 16;

/// Matrices with fewer entries run dense: below this the bookkeeping of the sparse paths costs
/// about what it saves.
const SPARSE_MIN_ENTRIES: usize = 4096;

/// A matrix keeps a compressed row form when at most `1 / CSR_DENSITY_RATIO` of its entries are
/// nonzero.
const CSR_DENSITY_RATIO: usize = 4;

/// `matvec_sparse` skips zero input columns when at most `1 / SPARSE_INPUT_RATIO` of the
/// columns are nonzero in some lane.
const SPARSE_INPUT_RATIO: usize = 4;

/// What `Arith::matvec_sparse` needs to know about a weight matrix, found once when a model is
/// prepared (`Matrix::rounded`) and kept beside the dense matrix.
/// Invariant: it describes the matrix it was made from: `finite` is whether every entry is
/// finite, and `csr`, present when at most a quarter of the entries are nonzero, lists exactly
/// the entries that are not `±0`, row by row, columns ascending.
#[derive(Clone, Debug)]
pub(crate) struct Sparsity {
    finite: bool,
    csr: Option<Csr>,
}

/// Compressed sparse rows: row `r`'s entries are `cols[starts[r]..starts[r + 1]]` with values
/// `vals[…]` at the same places, columns ascending within a row. In a `Sparsity` they are the
/// entries of the dense matrix beside it that are not `±0`; a matrix held only as a `Csr`
/// (`Arith::matvec_csr`) has `+0` at every entry not listed, and may list zeros.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr {
    pub(crate) starts: Vec<usize>,
    pub(crate) cols: Vec<u32>,
    pub(crate) vals: Vec<f64>,
}

impl Csr {
    /// Row `r`'s entries (column, value), columns ascending.
    pub(crate) fn row(&self, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let span = self.starts[r]..self.starts[r + 1];
        self.cols[span.clone()]
            .iter()
            .zip(&self.vals[span])
            .map(|(&k, &v)| (k as usize, v))
    }

    /// Row `r` as `cols` dense numbers (`+0` where nothing is listed).
    fn dense_row(&self, r: usize, cols: usize) -> Vec<f64> {
        let mut row = vec![0.0; cols];
        for (k, v) in self.row(r) {
            row[k] = v;
        }
        row
    }
}

impl Sparsity {
    /// The sparsity of the `rows × cols` row-major `w`, or `None` for a matrix too small for
    /// the sparse paths to pay (fewer than `SPARSE_MIN_ENTRIES` entries). Cost: one pass over
    /// `w`, and `12` bytes per nonzero when the compressed form is kept.
    pub(crate) fn of(w: &[f64], rows: usize, cols: usize) -> Option<Self> {
        if w.len() < SPARSE_MIN_ENTRIES {
            return None;
        }
        let nnz = w.iter().filter(|&&v| v != 0.0).count();
        Some(Self::build(
            w,
            rows,
            cols,
            nnz * CSR_DENSITY_RATIO <= w.len(),
        ))
    }

    /// Whether the compressed row form is kept (for tests of the paths taken).
    #[cfg(test)]
    pub(crate) fn is_compressed(&self) -> bool {
        self.csr.is_some()
    }

    /// The sparsity of `w`, with the compressed row form if `compress` (and the column indices
    /// fit in `u32`).
    fn build(w: &[f64], rows: usize, cols: usize, compress: bool) -> Self {
        debug_assert_eq!(w.len(), rows * cols);
        let finite = w.iter().all(|v| v.is_finite());
        let csr = (compress && u32::try_from(cols).is_ok()).then(|| {
            let nnz = w.iter().filter(|&&v| v != 0.0).count();
            let mut csr = Csr {
                starts: Vec::with_capacity(rows + 1),
                cols: Vec::with_capacity(nnz),
                vals: Vec::with_capacity(nnz),
            };
            csr.starts.push(0);
            for row in w.chunks_exact(cols) {
                for (k, &v) in row.iter().enumerate() {
                    if v != 0.0 {
                        csr.cols.push(k as u32);
                        csr.vals.push(v);
                    }
                }
                csr.starts.push(csr.cols.len());
            }
            csr
        });
        Sparsity { finite, csr }
    }
}

/// The columns `k` of `x` (lane layout, `cols · L` numbers) with `x[k·L + b] ≠ 0` for some lane
/// `b` (NaN counts as nonzero), ascending; `None` when there are more than `max` of them (the
/// scan stops there, so a dense `x` costs about `max` lanes' worth).
fn nonzero_columns(x: &[f64], cols: usize, lanes: usize, max: usize) -> Option<Vec<usize>> {
    // Branch-free over the lanes, so that it vectorises.
    let nonzero = |column: &[f64]| column.iter().fold(false, |any, &v| any | (v != 0.0));
    let columns = || x[..cols * lanes].chunks_exact(lanes);
    // Count first, so that a dense `x` allocates nothing.
    let mut count = 0;
    for column in columns() {
        count += usize::from(nonzero(column));
        if count > max {
            return None;
        }
    }
    Some(
        columns()
            .enumerate()
            .filter(|(_, c)| nonzero(c))
            .map(|(k, _)| k)
            .collect(),
    )
}

/// The sign fix of a `Wide` sum that skipped zero products (see `Arith::matvec_sparse`): a lane
/// whose sum is `−0` becomes `+0` where some product of the dense row `row(r)` is `+0`.
#[inline(always)]
fn fix_negative_zeros<'w>(
    row: &dyn Fn(usize) -> Cow<'w, [f64]>,
    x: &[f64],
    lanes: usize,
    out: &mut [f64],
) {
    for r in 0..out.len() / lanes {
        if !any_negative_zero(&out[r * lanes..(r + 1) * lanes]) {
            continue;
        }
        let dense = row(r);
        for b in 0..lanes {
            let o = &mut out[r * lanes + b];
            if o.to_bits() == NEG_ZERO_BITS && has_positive_zero_product(&dense, x, lanes, b) {
                *o = 0.0;
            }
        }
    }
}

multiversion! {
    /// `all_finite`, compiled per CPU (for `Arith::matvec_csr`).
    fn all_finite_simd(xs: &[f64]) -> bool {
        all_finite(xs)
    }
}

multiversion! {
    /// `any_negative_zero`, compiled per CPU (for `Arith::matvec_csr`).
    fn any_negative_zero_simd(xs: &[f64]) -> bool {
        any_negative_zero(xs)
    }
}

multiversion! {
    /// `sparse_wide` for `LANES` lanes over a matrix held as a `Csr` (its parts), compiled per
    /// CPU: the same IEEE operations in the same order in every variant.
    fn csr_wide_lanes(starts: &[usize], cols: &[u32], vals: &[f64], x: &[f64], out: &mut [f64]) {
        let entries = |r: usize| {
            let span = starts[r]..starts[r + 1];
            cols[span.clone()]
                .iter()
                .zip(&vals[span])
                .map(|(&k, &v)| (k as usize, v))
        };
        sparse_wide::<LANES, _>(starts.len() - 1, &entries, x, out);
    }
}

/// Whether every value of `xs` is finite (branch-free in blocks, so that it vectorises).
#[inline(always)]
fn all_finite(xs: &[f64]) -> bool {
    xs.chunks(64)
        .all(|c| c.iter().fold(true, |all, v| all & v.is_finite()))
}

/// Whether some value of `xs` is `−0.0` (branch-free in blocks, so that it vectorises).
#[inline(always)]
fn any_negative_zero(xs: &[f64]) -> bool {
    xs.chunks(64).any(|c| {
        c.iter()
            .fold(false, |any, v| any | (v.to_bits() == NEG_ZERO_BITS))
    })
}

/// Whether some product `row[k] · x[k·L + b]` is `+0` (used only where every product is a zero,
/// so this decides the sign of the dense sum; stops at the first).
fn has_positive_zero_product(row: &[f64], x: &[f64], lanes: usize, b: usize) -> bool {
    row.iter().enumerate().any(|(k, &wk)| {
        let p = wk * x[k * lanes + b];
        p == 0.0 && p.is_sign_positive()
    })
}

/// Unrounded sums of the listed products for `L` lanes, each from `−0.0` in the listed order
/// (the order of `matvec_wide`, minus the skipped zeros).
#[inline(always)]
fn sparse_wide<const L: usize, I: Iterator<Item = (usize, f64)>>(
    rows: usize,
    entries: &impl Fn(usize) -> I,
    x: &[f64],
    out: &mut [f64],
) {
    for r in 0..rows {
        let mut acc = [-0.0f64; L];
        for (k, wk) in entries(r) {
            let xk: &[f64; L] = x[k * L..(k + 1) * L].try_into().expect("lane block");
            for l in 0..L {
                acc[l] += wk * xk[l];
            }
        }
        out[r * L..(r + 1) * L].copy_from_slice(&acc);
    }
}

/// Four rows at a time against `L` lanes, accumulators in registers (`FUSED`: with fused
/// multiply-adds, only for exact products, see `matvec_wide`).
#[inline(always)]
fn matvec_block<const FUSED: bool, const L: usize>(
    w: &[f64],
    rows: usize,
    cols: usize,
    x: &[f64],
    out: &mut [f64],
) {
    let x = &x[..cols * L];
    let mut r = 0;
    while r + 4 <= rows {
        let mut acc = [[-0.0f64; L]; 4];
        let ws = &w[r * cols..(r + 4) * cols];
        let (w0, rest) = ws.split_at(cols);
        let (w1, rest) = rest.split_at(cols);
        let (w2, w3) = rest.split_at(cols);
        for k in 0..cols {
            let xk: &[f64; L] = x[k * L..(k + 1) * L].try_into().expect("lane block");
            let (a, b, c, d) = (w0[k], w1[k], w2[k], w3[k]);
            for l in 0..L {
                acc[0][l] = mul_acc::<FUSED>(acc[0][l], a, xk[l]);
                acc[1][l] = mul_acc::<FUSED>(acc[1][l], b, xk[l]);
                acc[2][l] = mul_acc::<FUSED>(acc[2][l], c, xk[l]);
                acc[3][l] = mul_acc::<FUSED>(acc[3][l], d, xk[l]);
            }
        }
        for (i, a) in acc.iter().enumerate() {
            out[(r + i) * L..(r + i + 1) * L].copy_from_slice(a);
        }
        r += 4;
    }
    while r < rows {
        let mut acc = [-0.0f64; L];
        for (k, &wk) in w[r * cols..(r + 1) * cols].iter().enumerate() {
            let xk: &[f64; L] = x[k * L..(k + 1) * L].try_into().expect("lane block");
            for l in 0..L {
                acc[l] = mul_acc::<FUSED>(acc[l], wk, xk[l]);
            }
        }
        out[r * L..(r + 1) * L].copy_from_slice(&acc);
        r += 1;
    }
}

// ---- Elementary functions in f64 (branch-free, so that loops over them vectorise). ----

/// `ln 2` split as in fdlibm: the high part has 32 trailing zero bits, so `k · LN2_HI` is exact.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
const LOG2E: f64 = std::f64::consts::LOG2_E;

/// `expm1(r)` for `|r| ≤ ln2/2 + ε`: Taylor polynomial to degree 13 (truncation below 2^−56
/// relative).
#[inline(always)]
fn expm1_poly(r: f64) -> f64 {
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    // Estrin's scheme: the same polynomial with a short dependency chain.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p01 = C[0] + C[1] * r;
    let p23 = C[2] + C[3] * r;
    let p45 = C[4] + C[5] * r;
    let p67 = C[6] + C[7] * r;
    let p89 = C[8] + C[9] * r;
    let pab = C[10] + C[11] * r;
    let p03 = p01 + p23 * r2;
    let p47 = p45 + p67 * r2;
    let p8b = p89 + pab * r2;
    let p = (p03 + p47 * r4) + p8b * r8;
    r + r * r * p
}

/// `x = k·ln2 + r`: returns `(k as f64, r)`; needs `|x| ≤ 750`.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let k = (x * LOG2E + MAGIC) - MAGIC;
    (k, (x - k * LN2_HI) - k * LN2_LO)
}

/// `2^k` for an integral `k` in `[−1022, 1023]` given as `f64`.
#[inline(always)]
fn pow2f(k: f64) -> f64 {
    f64::from_bits(((k + MAGIC).to_bits().wrapping_add(1023)) << 52)
}

/// `e^x` in `f64`, within a few ulp; overflow gives `+∞`, underflow `0` (through subnormals).
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // `clamp` keeps NaN.
    let (k, r) = reduce(x.clamp(-746.0, 710.0));
    // 2^k as two factors so that results in the subnormal range are rounded once.
    let k1 = (k * 0.5).floor_fast();
    let k2 = k - k1;
    (1.0 + expm1_poly(r)) * pow2f(k1) * pow2f(k2)
}

/// `e^x − 1` for `x ≤ 0` (with `x ≥ −745` or so; below `−40` it is `−1`).
#[inline(always)]
fn expm1_neg(x: f64) -> f64 {
    let x = if x < -40.0 { -40.0 } else { x };
    let (k, r) = reduce(x);
    let s = pow2f(k);
    s * expm1_poly(r) + (s - 1.0)
}

/// `tanh(x) = −expm1(−2|x|) / (2 + expm1(−2|x|))` with the sign of `x`: no cancellation anywhere.
#[inline(always)]
pub(crate) fn tanh(x: f64) -> f64 {
    let e = expm1_neg(-2.0 * x.abs());
    (-e / (2.0 + e)).copysign(x)
}

/// `1 / (1 + e^−x)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// `floor` for values that are integers or half-integers, without a libm call.
trait FloorFast {
    fn floor_fast(self) -> f64;
}

impl FloorFast for f64 {
    #[inline(always)]
    fn floor_fast(self) -> f64 {
        let t = (self + MAGIC) - MAGIC;
        if t > self { t - 1.0 } else { t }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn values(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut v: Vec<f64> = (0..n)
            .map(|_| {
                let mag = 2f64.powf(rng.random_range(-40.0..40.0));
                if rng.random_bool(0.5) { mag } else { -mag }
            })
            .collect();
        v.extend([
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-310,
            -1e-310,
            f64::MAX,
            448.0,
            464.0,
            0.375,
            0.125,
            -0.125,
            2.5,
            -2.5,
        ]);
        v
    }

    #[test]
    fn fast_rounding_agrees_with_precision_round_bit_for_bit() {
        for spec in [
            "f64",
            "f32",
            "bf16",
            "f16",
            "e4m3",
            "e5m2",
            "float:3.1",
            "float:10.40",
            "fixed:1.6",
            "fixed:4.3",
            "fixed:20.30",
            "fixed:30.52",
        ] {
            for mode in [Rounding::NearestEven, Rounding::Down] {
                let prec = Precision::parse(spec).unwrap().with_rounding(mode);
                let ar = Arith::new(&prec).unwrap();
                let xs = values(7, 20_000);
                let mut want_stats = Stats::default();
                let want: Vec<f64> = xs.iter().map(|&x| prec.round(x, &mut want_stats)).collect();
                let mut got = xs.clone();
                let mut stats = Stats::default();
                ar.round_slice(&mut got, &mut stats);
                for ((g, w), x) in got.iter().zip(&want).zip(&xs) {
                    assert!(
                        g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                        "{spec} {mode:?}: round({x:e}) = {g:e}, want {w:e}"
                    );
                }
                assert_eq!(stats, want_stats, "{spec} {mode:?}");
            }
        }
    }

    #[test]
    fn matvec_is_precision_dot_per_lane() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for spec in ["f32", "bf16", "fixed:2.5"] {
            for acc in [Accumulate::Wide, Accumulate::Format] {
                let prec = Precision::parse(spec).unwrap().with_accumulate(acc);
                let ar = Arith::new(&prec).unwrap();
                for lanes in [1, 3, LANES] {
                    let (rows, cols) = (7, 5);
                    let w: Vec<f64> = (0..rows * cols)
                        .map(|_| rng.random_range(-1.0..1.0))
                        .collect();
                    let x: Vec<f64> = (0..cols * lanes)
                        .map(|_| rng.random_range(-1.0..1.0))
                        .collect();
                    let mut out = vec![0.0; rows * lanes];
                    let mut s = Stats::default();
                    ar.matvec(&w, cols, &x, lanes, &mut out, &mut s);
                    for r in 0..rows {
                        for b in 0..lanes {
                            let xb: Vec<f64> = (0..cols).map(|k| x[k * lanes + b]).collect();
                            let want = prec.dot(&w[r * cols..(r + 1) * cols], &xb, &mut s);
                            assert_eq!(
                                out[r * lanes + b].to_bits(),
                                want.to_bits(),
                                "{spec} {acc:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn elementary_functions_match_libm_closely() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut worst = [0.0f64; 3];
        for i in 0..200_000 {
            let x = if i % 2 == 0 {
                rng.random_range(-30.0..30.0)
            } else {
                rng.random_range(-1.0..1.0) * 2f64.powi(-rng.random_range(0..60))
            };
            let rel = |a: f64, b: f64| {
                if b == 0.0 {
                    a.abs()
                } else {
                    ((a - b) / b).abs()
                }
            };
            worst[0] = worst[0].max(rel(exp(x), x.exp()));
            worst[1] = worst[1].max(rel(tanh(x), x.tanh()));
            worst[2] = worst[2].max(rel(sigmoid(x), 1.0 / (1.0 + (-x).exp())));
        }
        for (name, w) in ["exp", "tanh", "sigmoid"].iter().zip(worst) {
            assert!(w < 1e-15, "{name}: worst relative error {w:e}");
        }
        for x in [-800.0, -745.5, -708.9, -700.0, 0.0, 700.0, 709.7] {
            let (a, b) = (exp(x), x.exp());
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b + f64::from_bits(2),
                "exp({x}) = {a:e} vs {b:e}"
            );
        }
        assert_eq!(exp(710.0), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan() && tanh(f64::NAN).is_nan());
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f64).to_bits());
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    /// With tables, `act` gives the same bits and the same saturation count as evaluating the
    /// function and rounding, on every grid point, off the grid, at ±0 and NaN.
    #[test]
    fn tabulated_activations_equal_evaluate_then_round() {
        for spec in [
            "fixed:1.6",
            "fixed:2.3",
            "fixed:4.8",
            "fixed:0.5",
            "fixed:3.9",
        ] {
            for rounding in [Rounding::NearestEven, Rounding::Down] {
                let prec = Precision::parse(spec).unwrap().with_rounding(rounding);
                let ar = Arith::new(&prec).unwrap();
                assert!(ar.tables.is_some(), "{spec}");
                let scale = ar.tables.unwrap().scale;
                let k = ar.tables.unwrap().k_max;
                let mut xs: Vec<f64> = (-k - 3..=k + 3).map(|i| i as f64 / scale).collect();
                xs.extend([-0.0, 0.0, f64::NAN, 0.3 / scale, -1e-300, 1e9, -1e9]);
                for act in [Act::Tanh, Act::Sigmoid, Act::Exp] {
                    let (mut a, mut b) = (xs.clone(), xs.clone());
                    let (mut sa, mut sb) = (Stats::default(), Stats::default());
                    ar.act(&mut a, act, &mut sa);
                    apply_act(&mut b, act);
                    ar.round_slice(&mut b, &mut sb);
                    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&a), bits(&b), "{spec} {rounding:?} {act:?}");
                    assert_eq!(sa, sb, "{spec} {rounding:?} {act:?}");
                }
            }
        }
        assert!(
            Arith::new(&Precision::parse("fixed:8.8").unwrap())
                .unwrap()
                .tables
                .is_none()
        );
    }
}

#[cfg(test)]
mod sparse_tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const ROWS: usize = 13;
    const COLS: usize = 37;

    /// A `ROWS × COLS` matrix with about `density` nonzeros, signed zeros elsewhere, row 2 and
    /// column 5 all zero; `huge` mixes in `±1e300` (products overflow in `f64`) and values
    /// beyond small fixed-point ranges.
    fn weights(rng: &mut ChaCha8Rng, density: f64, huge: bool) -> Vec<f64> {
        (0..ROWS * COLS)
            .map(|i| {
                let (r, c) = (i / COLS, i % COLS);
                let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                if r == 2 || c == 5 || !rng.random_bool(density) {
                    return 0.0 * sign;
                }
                match rng.random_range(0..10) {
                    0 if huge => 1e300 * sign,
                    1 if huge => 9.75 * sign,
                    2 => sign,
                    _ => rng.random_range(-1.0..1.0),
                }
            })
            .collect()
    }

    /// Inputs for `lanes` lanes of the given kind, with signed zeros.
    fn inputs(rng: &mut ChaCha8Rng, kind: usize, lanes: usize, huge: bool) -> Vec<f64> {
        let mut x: Vec<f64> = (0..COLS * lanes)
            .map(|_| if rng.random_bool(0.5) { 0.0 } else { -0.0 })
            .collect();
        let hot: Vec<usize> = (0..3).map(|_| rng.random_range(0..COLS)).collect();
        for (i, v) in x.iter_mut().enumerate() {
            let (k, b) = (i / lanes, i % lanes);
            let fill = match kind {
                // One-hot per lane: lane b reads column hot[b % 3].
                0 => (k == hot[b % 3]).then_some(1.0),
                // A few nonzero columns, values of both signs.
                1 => hot.contains(&k).then(|| rng.random_range(-2.0..2.0)),
                // Dense, with some zeros.
                2 => rng.random_bool(0.8).then(|| rng.random_range(-2.0..2.0)),
                // Dense and huge.
                3 if huge => Some(if rng.random_bool(0.5) { 1e300 } else { -1e300 }),
                // All zeros.
                _ => None,
            };
            if let Some(f) = fill {
                *v = f;
            }
        }
        if kind == 5 {
            x[hot[0] * lanes] = f64::NAN;
            x[hot[1] * lanes + lanes - 1] = f64::INFINITY;
        }
        x
    }

    /// The `Csr` of a `ROWS × COLS` matrix held without it: every entry other than `+0`
    /// (`−0` included).
    fn held_sparse(w: &[f64]) -> Csr {
        let mut csr = Csr::default();
        csr.starts.push(0);
        for row in w.chunks_exact(COLS) {
            for (k, &v) in row.iter().enumerate() {
                if v.to_bits() != 0 {
                    csr.cols.push(k as u32);
                    csr.vals.push(v);
                }
            }
            csr.starts.push(csr.cols.len());
        }
        csr
    }

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
    }

    /// The sparse paths (compressed rows, zero columns, and the automatic choice) give the
    /// dense `matvec`'s bits and counts: fixed point (both accumulations, both roundings),
    /// `e4m3`, `bf16`, `f32`, `f64`; densities from all-zero to full, zero rows and columns;
    /// one-hot, sparse, dense, all-zero and non-finite inputs with signed zeros; 1, 3 and 16
    /// lanes.
    #[test]
    fn sparse_matvec_equals_dense_bit_for_bit_with_the_same_stats() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let mut paths = [0usize; 2];
        for spec in ["fixed:2.3", "fixed:4.8", "e4m3", "bf16", "f32", "f64"] {
            for acc in [Accumulate::Wide, Accumulate::Format] {
                for rounding in [Rounding::NearestEven, Rounding::Down] {
                    if rounding == Rounding::Down && spec != "fixed:2.3" {
                        continue;
                    }
                    let prec = Precision::parse(spec)
                        .unwrap()
                        .with_accumulate(acc)
                        .with_rounding(rounding);
                    let ar = Arith::new(&prec).unwrap();
                    for density in [0.0, 0.03, 0.25, 0.6, 1.0] {
                        for trial in 0..6 {
                            let huge = trial % 2 == 1;
                            let mut w = weights(&mut rng, density, huge);
                            let mut st = Stats::default();
                            ar.round_slice(&mut w, &mut st);
                            let csr = held_sparse(&w);
                            let forms = [
                                Sparsity::build(&w, ROWS, COLS, true),
                                Sparsity::build(&w, ROWS, COLS, false),
                                Sparsity::build(&w, ROWS, COLS, density <= 0.25),
                            ];
                            for lanes in [1, 3, LANES] {
                                for kind in 0..6 {
                                    let mut x = inputs(&mut rng, kind, lanes, huge);
                                    ar.round_slice(&mut x, &mut st);
                                    let mut want = vec![0.0; ROWS * lanes];
                                    let mut want_st = Stats::default();
                                    ar.matvec(&w, COLS, &x, lanes, &mut want, &mut want_st);
                                    for (f, sp) in forms.iter().enumerate() {
                                        let mut got = vec![1.0; ROWS * lanes];
                                        let mut got_st = Stats::default();
                                        ar.matvec_sparse(
                                            (&w, COLS),
                                            sp,
                                            &x,
                                            lanes,
                                            &mut got,
                                            &mut got_st,
                                        );
                                        let case = format!(
                                            "{spec} {acc:?} {rounding:?} density {density} trial \
                                             {trial} lanes {lanes} input {kind} form {f}"
                                        );
                                        assert!(same(&got, &want), "{case}: {got:?} != {want:?}");
                                        assert_eq!(got_st, want_st, "{case}");
                                    }
                                    // Held only as its entries other than `+0`.
                                    let mut got = vec![1.0; ROWS * lanes];
                                    let mut got_st = Stats::default();
                                    ar.matvec_csr(&csr, COLS, &x, lanes, &mut got, &mut got_st);
                                    let case = format!(
                                        "{spec} {acc:?} {rounding:?} density {density} trial \
                                         {trial} lanes {lanes} input {kind} held sparse"
                                    );
                                    assert!(same(&got, &want), "{case}: {got:?} != {want:?}");
                                    assert_eq!(got_st, want_st, "{case}");
                                    paths[0] += usize::from(x.iter().all(|v| v.is_finite()));
                                    paths[1] += usize::from(
                                        nonzero_columns(&x, COLS, lanes, COLS / SPARSE_INPUT_RATIO)
                                            .is_some(),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        // Both sparse paths ran on many cases (compressed rows need a finite input, zero
        // columns a sparse one).
        assert!(paths[0] > 1000 && paths[1] > 1000, "{paths:?}");
    }

    /// The compressed form is kept for large matrices with at most a quarter nonzero, lists
    /// exactly their nonzeros, and is absent for dense or small ones.
    #[test]
    fn sparsity_is_found_for_large_sparse_matrices_only() {
        let n = 128;
        let mut perm = vec![0.0; n * n];
        for j in 0..n {
            perm[j * n + (j + n - 1) % n] = 1.0;
        }
        perm[7] = -0.0;
        let sp = Sparsity::of(&perm, n, n).expect("large enough");
        let csr = sp.csr.expect("a permutation is sparse");
        assert!(sp.finite);
        assert_eq!(csr.vals, vec![1.0; n]);
        assert_eq!(csr.starts, (0..=n).collect::<Vec<_>>());
        assert_eq!(csr.cols[0] as usize, n - 1);
        let mut dense = vec![-1.0; n * n];
        dense[3] = f64::INFINITY;
        let sp = Sparsity::of(&dense, n, n).expect("large enough");
        assert!(sp.csr.is_none() && !sp.finite);
        assert!(Sparsity::of(&perm[..16 * 16], 16, 16).is_none());
    }
}
