//! Arithmetic modulo the primes `2^31 − 1` (in `u32`, the fast elimination) and `2^61 − 1` (in
//! `u64`, dependencies and the fallback), and Gaussian elimination and inversion modulo either.

use rayon::prelude::*;

use crate::matrix::CommMatrix;

/// The prime of the fast elimination, `2^31 − 1`.
pub const P31: u64 = (1 << 31) - 1;

/// The prime dependencies are solved modulo, and the fallback elimination prime, `2^61 − 1`.
pub const P61: u64 = (1 << 61) - 1;

/// Arithmetic modulo a prime `P`, with the row update the elimination spends its time in.
pub(super) trait PrimeField {
    type E: Copy + PartialEq + Send + Sync;
    const P: u64;
    const ZERO: Self::E;
    const ONE: Self::E;
    fn add(a: Self::E, b: Self::E) -> Self::E;
    fn sub(a: Self::E, b: Self::E) -> Self::E;
    fn mul(a: Self::E, b: Self::E) -> Self::E;
    /// `v ← v − Σ_t f[t] · pivots[t]` for at most `PANEL` pivots, each as long as `v`.
    fn sub_combination(v: &mut [Self::E], f: &[Self::E], pivots: &[&[Self::E]]);

    fn inv(a: Self::E) -> Self::E {
        debug_assert!(a != Self::ZERO);
        let (mut base, mut e, mut acc) = (a, Self::P - 2, Self::ONE);
        while e > 0 {
            if e & 1 == 1 {
                acc = Self::mul(acc, base);
            }
            base = Self::mul(base, base);
            e >>= 1;
        }
        acc
    }
}

/// Pivots applied to the remaining rows at once.
pub(super) const PANEL: usize = 64;

/// Integers mod `2^31 − 1` in `u32`.
pub(super) struct M31;

/// `x mod 2^31 − 1` for `x < 2^63`.
#[inline(always)]
fn reduce31(x: u64) -> u32 {
    let x = (x & P31) + (x >> 31);
    let x = ((x & P31) + (x >> 31)) as u32;
    if x >= P31 as u32 { x - P31 as u32 } else { x }
}

/// One block of `M31::sub_combination`, with `g[t] = P − f[t]`. Each product is folded
/// to below `2^32` and at most `PANEL = 64` of them are added to a value below `2^31`, so the
/// `u64` accumulators stay below `2^38` and need one reduction at the end.
#[inline(always)]
fn m31_block<const N: usize>(v: &mut [u32], g: &[u32], pivots: &[&[u32]], at: usize) {
    let v: &mut [u32; N] = v.try_into().expect("block of N columns");
    let mut acc = [0u64; N];
    for (a, &x) in acc.iter_mut().zip(v.iter()) {
        *a = u64::from(x);
    }
    for (&gt, p) in g.iter().zip(pivots) {
        let p: &[u32; N] = p[at..at + N].try_into().expect("block of N columns");
        for (a, &y) in acc.iter_mut().zip(p) {
            // Both factors are below 2^32, so this is one 32 × 32 → 64-bit multiply.
            let prod = u64::from(gt) * u64::from(y);
            *a += (prod & P31) + (prod >> 31);
        }
    }
    for (x, &a) in v.iter_mut().zip(&acc) {
        *x = reduce31(a);
    }
}

impl PrimeField for M31 {
    type E = u32;
    const P: u64 = P31;
    const ZERO: u32 = 0;
    const ONE: u32 = 1;

    fn add(a: u32, b: u32) -> u32 {
        let s = a + b;
        if s >= P31 as u32 { s - P31 as u32 } else { s }
    }

    fn sub(a: u32, b: u32) -> u32 {
        if a >= b { a - b } else { a + P31 as u32 - b }
    }

    fn mul(a: u32, b: u32) -> u32 {
        reduce31(u64::from(a) * u64::from(b))
    }

    fn sub_combination(v: &mut [u32], f: &[u32], pivots: &[&[u32]]) {
        debug_assert!(f.len() <= PANEL && f.len() == pivots.len());
        // Only the pivots with a non-zero factor, as g = P − f.
        let mut g = [0u32; PANEL];
        let mut used: [&[u32]; PANEL] = [&[]; PANEL];
        let mut k = 0;
        for (&ft, &p) in f.iter().zip(pivots) {
            if ft != 0 {
                g[k] = P31 as u32 - ft;
                used[k] = p;
                k += 1;
            }
        }
        let (g, used) = (&g[..k], &used[..k]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `m31_update_avx2` only requires AVX2, which the CPU was just found to have.
            unsafe { m31_update_avx2(v, g, used) };
            return;
        }
        m31_update::<16>(v, g, used);
    }
}

/// `m31_update` compiled for AVX2: four `u64` lanes per multiply instead of SSE2's two. (Blocks
/// of 16 columns: 32 would spill the accumulators.)
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn m31_update_avx2(v: &mut [u32], g: &[u32], pivots: &[&[u32]]) {
    m31_update::<16>(v, g, pivots);
}

/// `v ← v + Σ_t g[t] · pivots[t]` mod `2^31 − 1`, `N` columns at a time.
#[inline(always)]
fn m31_update<const N: usize>(v: &mut [u32], g: &[u32], pivots: &[&[u32]]) {
    let full = v.len() / N * N;
    let (body, tail) = v.split_at_mut(full);
    for (j, block) in body.chunks_exact_mut(N).enumerate() {
        m31_block::<N>(block, g, pivots, j * N);
    }
    for (i, x) in tail.iter_mut().enumerate() {
        let mut acc = u64::from(*x);
        for (&gt, p) in g.iter().zip(pivots) {
            let prod = u64::from(gt) * u64::from(p[full + i]);
            acc += (prod & P31) + (prod >> 31);
        }
        *x = reduce31(acc);
    }
}

/// Integers mod `2^61 − 1` in `u64`.
pub(super) struct M61;

impl PrimeField for M61 {
    type E = u64;
    const P: u64 = P61;
    const ZERO: u64 = 0;
    const ONE: u64 = 1;

    #[inline]
    fn add(a: u64, b: u64) -> u64 {
        let s = a + b;
        if s >= P61 { s - P61 } else { s }
    }

    #[inline]
    fn sub(a: u64, b: u64) -> u64 {
        if a >= b { a - b } else { a + P61 - b }
    }

    #[inline]
    fn mul(a: u64, b: u64) -> u64 {
        // a, b < P: the product is below 2^122 and never P·(2^61 + 1), so lo + hi < 2P.
        let prod = u128::from(a) * u128::from(b);
        let s = (prod as u64 & P61) + (prod >> 61) as u64;
        if s >= P61 { s - P61 } else { s }
    }

    fn sub_combination(v: &mut [u64], f: &[u64], pivots: &[&[u64]]) {
        for (&ft, p) in f.iter().zip(pivots) {
            if ft != 0 {
                for (x, &y) in v.iter_mut().zip(p.iter()) {
                    *x = Self::sub(*x, Self::mul(ft, y));
                }
            }
        }
    }
}

/// The outcome of a modular elimination: basis rows (original indices, in the order found,
/// which is the order given) and their pivot columns (original indices).
pub(super) struct Echelon {
    pub(super) basis: Vec<usize>,
    pub(super) pivot_cols: Vec<usize>,
}

/// Gaussian elimination mod `F::P` of the sub-matrix `rows × cols` of `m`.
///
/// Rows are scanned in the order given; each is reduced by the pivots found so far and, if not
/// zero, becomes a pivot (normalised to 1 at its first non-zero column). Pivots are gathered in
/// panels of up to `PANEL`, made Gauss–Jordan within the panel, and then subtracted from every
/// remaining row in one pass (rayon across rows). Pivot columns are zero in every remaining row,
/// so once a quarter of the columns are spent they are dropped from the working copy. Each
/// reduced pivot row is its original row plus earlier basis rows and is zero at earlier pivot
/// columns, so the minor `basis × pivot_cols` is triangular-equivalent and non-singular mod P.
pub(super) fn eliminate_mod_p<F: PrimeField>(
    m: &CommMatrix,
    rows: &[usize],
    cols: &[usize],
) -> Echelon {
    let mut basis = Vec::new();
    let mut pivot_cols = Vec::new();
    let n = rows.len();
    let mut nc = cols.len();
    let max_rank = n.min(nc);
    if max_rank == 0 {
        return Echelon { basis, pivot_cols };
    }
    let mut col_id = cols.to_vec();
    let mut row_id = rows.to_vec();
    let mut a: Vec<F::E> = vec![F::ZERO; n * nc];
    a.par_chunks_mut(nc)
        .zip(rows.par_iter())
        .for_each(|(dst, &x)| {
            let words = m.row_words(x);
            for (d, &c) in dst.iter_mut().zip(cols) {
                if (words[c / 64] >> (c % 64)) & 1 == 1 {
                    *d = F::ONE;
                }
            }
        });
    let mut dead = vec![false; nc];
    let mut n_dead = 0;
    let (mut start, mut end) = (0, n);
    while start < end && basis.len() < max_rank {
        // Find the next panel of pivots, scanning rows in order.
        let mut panel: Vec<(usize, usize)> = Vec::with_capacity(PANEL);
        let mut i = start;
        while i < end && panel.len() < PANEL && basis.len() < max_rank {
            let (head, rest) = a.split_at_mut(i * nc);
            let row = &mut rest[..nc];
            for &(pr, pc) in &panel {
                let f = row[pc];
                if f != F::ZERO {
                    F::sub_combination(row, &[f], &[&head[pr * nc..(pr + 1) * nc]]);
                }
            }
            if let Some(j) = row.iter().position(|&x| x != F::ZERO) {
                let inv = F::inv(row[j]);
                for x in row.iter_mut() {
                    *x = F::mul(*x, inv);
                }
                panel.push((i, j));
                basis.push(row_id[i]);
                pivot_cols.push(col_id[j]);
            }
            i += 1;
        }
        start = i;
        if panel.is_empty() || start == end || basis.len() == max_rank {
            break;
        }
        // Gauss–Jordan within the panel: clear each pivot column in the earlier pivot rows.
        for t in (1..panel.len()).rev() {
            let (pt, jt) = panel[t];
            let (head, rest) = a.split_at_mut(pt * nc);
            let pivot = &rest[..nc];
            for &(ps, _) in &panel[..t] {
                let row = &mut head[ps * nc..(ps + 1) * nc];
                let f = row[jt];
                if f != F::ZERO {
                    F::sub_combination(row, &[f], &[pivot]);
                }
            }
        }
        // Subtract the panel from every remaining row.
        let (head, tail) = a.split_at_mut(start * nc);
        let pivots: Vec<&[F::E]> = panel
            .iter()
            .map(|&(pr, _)| &head[pr * nc..(pr + 1) * nc])
            .collect();
        let pcols: Vec<usize> = panel.iter().map(|&(_, pc)| pc).collect();
        tail[..(end - start) * nc].par_chunks_mut(nc).for_each(|v| {
            let mut f = [F::ZERO; PANEL];
            let mut any = false;
            for (ft, &pc) in f.iter_mut().zip(&pcols) {
                *ft = v[pc];
                any |= *ft != F::ZERO;
            }
            if any {
                F::sub_combination(v, &f[..pcols.len()], &pivots);
            }
        });
        for &pc in &pcols {
            dead[pc] = true;
        }
        n_dead += pcols.len();
        if n_dead * 4 >= nc {
            let live: Vec<usize> = (0..nc).filter(|&j| !dead[j]).collect();
            let nc2 = live.len();
            if nc2 == 0 {
                break;
            }
            let left = end - start;
            let mut b = vec![F::ZERO; left * nc2];
            b.par_chunks_mut(nc2)
                .zip(a[start * nc..end * nc].par_chunks(nc))
                .for_each(|(dst, src)| {
                    for (d, &j) in dst.iter_mut().zip(&live) {
                        *d = src[j];
                    }
                });
            a = b;
            col_id = live.iter().map(|&j| col_id[j]).collect();
            row_id.drain(..start);
            row_id.truncate(left);
            dead = vec![false; nc2];
            n_dead = 0;
            nc = nc2;
            start = 0;
            end = left;
        }
    }
    Echelon { basis, pivot_cols }
}

/// Inverse of the `r × r` matrix `a` (row-major) mod `F::P`, or `None` if it is singular.
///
/// Cost: `2 r³` multiply-adds (rayon across rows for each pivot), `2 r²` entries.
pub(super) fn invert_mod_p<F: PrimeField>(a: &[F::E], r: usize) -> Option<Vec<F::E>> {
    let w = 2 * r;
    let mut aug = vec![F::ZERO; r * w];
    for (i, row) in aug.chunks_mut(w).enumerate() {
        row[..r].copy_from_slice(&a[i * r..(i + 1) * r]);
        row[r + i] = F::ONE;
    }
    for col in 0..r {
        let p = (col..r).find(|&i| aug[i * w + col] != F::ZERO)?;
        if p != col {
            let (lo, hi) = aug.split_at_mut(p * w);
            lo[col * w..(col + 1) * w].swap_with_slice(&mut hi[..w]);
        }
        let inv = F::inv(aug[col * w + col]);
        for x in &mut aug[col * w..(col + 1) * w] {
            *x = F::mul(*x, inv);
        }
        let pivot = aug[col * w..(col + 1) * w].to_vec();
        aug.par_chunks_mut(w).enumerate().for_each(|(i, row)| {
            let f = row[col];
            if i != col && f != F::ZERO {
                F::sub_combination(row, &[f], &[&pivot]);
            }
        });
    }
    Some(
        aug.chunks(w)
            .flat_map(|row| row[r..].iter().copied())
            .collect(),
    )
}
