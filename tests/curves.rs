//! The committed size curves (`plots/data/curve-*.jsonl`): each construction's curve
//! reaches `N = 2^16` with every point correct and its size the product it claims, and its
//! first point is what `ccsep construct NAME --curve e..e` computes now (so the files cannot
//! drift from the code unnoticed where a rerun is cheap).

use std::path::Path;

mod common;
use common::{ccsep, success_json};

/// The constructions with a curve (`plots/data/curve-NAME.jsonl`).
const CURVES: [&str; 6] = [
    "index-lookup",
    "dyck-rnn",
    "index-rnn",
    "equality",
    "disjointness",
    "nearest",
];

fn points(name: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("plots/data")
        .join(format!("curve-{name}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect()
}

/// Bits per number of a `fixed:I.F` precision: sign, `I` and `F`.
fn fixed_bits(precision: &str) -> u64 {
    let (i, f) = precision
        .strip_prefix("fixed:")
        .and_then(|s| s.split_once('.'))
        .unwrap_or_else(|| panic!("not fixed:I.F: {precision}"));
    1 + i.parse::<u64>().unwrap() + f.parse::<u64>().unwrap()
}

/// The lower bound each curve is set beside, at `n`: the RNN's `m·p ≥ N` for both index
/// constructions (Thm 3; the index RNN's own bound, which it meets) and `m·p ≥ n` for the
/// two-party tasks (Thm 11, DISJ for Thm 13 and Thm 8), in `size_bits`' units; for the Dyck RNN
/// the one-layer Transformer's Thm 5 in the units it is stated in, `m·H·(p + log₂ N) ≥ (N − 1)/3`
/// — not the transcript length `N − 1`.
fn other_bound(name: &str, n: u64) -> f64 {
    match name {
        "dyck-rnn" => (n - 1) as f64 / 3.0,
        _ => n as f64,
    }
}

#[test]
fn every_curve_reaches_2_16_with_correct_points_of_the_size_they_claim() {
    for name in CURVES {
        let pts = points(name);
        let lengths: Vec<u64> = pts.iter().map(|p| p["length"].as_u64().unwrap()).collect();
        assert_eq!(lengths.last(), Some(&(1 << 16)), "{name}: {lengths:?}");
        assert!(
            lengths.windows(2).all(|w| w[1] == 2 * w[0]) && lengths[0] <= 16,
            "{name}: one point per doubling from N ≤ 16: {lengths:?}"
        );
        for p in &pts {
            let at = format!("{name} at N = {}", p["length"]);
            assert_eq!(p["name"], name, "{at}");
            assert_eq!(p["correct"], true, "{at}");
            assert!(p.get("error").is_none(), "{at}");
            let bits = fixed_bits(p["precision"].as_str().unwrap());
            assert_eq!(p["bits_per_number"].as_u64(), Some(bits), "{at}");
            let (width, heads) = (p["width"].as_u64().unwrap(), p["heads"].as_u64().unwrap());
            assert_eq!(
                p["size_bits"].as_u64(),
                Some(width * heads.max(1) * bits),
                "{at}: width × heads × bits"
            );
            assert_eq!(
                p["other_bound_bits"].as_f64(),
                Some(other_bound(name, p["n"].as_u64().unwrap())),
                "{at}: the bound beside the curve"
            );
            assert!(!p["verified_on"].as_str().unwrap().is_empty(), "{at}");
        }
    }
}

#[test]
fn the_first_point_of_every_curve_is_what_ccsep_computes_now() {
    for name in CURVES {
        let first = &points(name)[0];
        let n = first["n"].as_u64().unwrap();
        assert!(n.is_power_of_two(), "{name}: n = {n}");
        let e = n.trailing_zeros();
        let line = success_json(ccsep().args(["construct", name, "--curve", &format!("{e}..{e}")]));
        assert_eq!(&line, first, "{name} at n = {n}");
    }
}
