//! Unit tests of the model module: weights round trip, batch = single runs, step = forward,
//! and the errors a user can cause.

use super::testing::{check_final_pass, same_bits};
use super::*;

fn specs() -> Vec<Spec> {
    vec![
        Spec::Rnn {
            input: 3,
            hidden: 5,
            layers: 2,
            output: Some(2),
            nonlinearity: Nonlinearity::Relu,
        },
        Spec::Lstm {
            input: 4,
            hidden: 6,
            layers: 2,
            output: Some(3),
        },
        Spec::Gru {
            input: 3,
            hidden: 5,
            layers: 3,
            output: None,
        },
        Spec::Ssm {
            input: 3,
            state: 6,
            output: 2,
        },
        Spec::LinearAttention {
            input: 4,
            key: 5,
            value: 3,
            output: Some(2),
        },
        Spec::Transformer(TransformerSpec {
            input: 5,
            d_model: 8,
            heads: 2,
            layers: 2,
            d_ff: Some(16),
            output: Some(3),
            layer_norm: true,
            pos: PosSpec::Learned { max_len: 8 },
            causal: true,
        }),
        Spec::Transformer(TransformerSpec {
            input: 5,
            d_model: 8,
            heads: 4,
            layers: 1,
            d_ff: None,
            output: None,
            layer_norm: false,
            pos: PosSpec::Sinusoidal,
            causal: false,
        }),
    ]
}

fn inputs(n: usize, len: usize, seed: u64) -> Vec<Vec<f64>> {
    use rand::RngExt;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| (0..n).map(|_| rng.random_range(-1.5..1.5)).collect())
        .collect()
}

fn p(s: &str) -> Precision {
    Precision::parse(s).unwrap()
}

#[test]
fn save_then_load_gives_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    for (i, spec) in specs().iter().enumerate() {
        let m = random_init(spec, i as u64).unwrap();
        let path = dir.path().join(format!("m{i}.safetensors"));
        m.save(&path).unwrap();
        let back = load(m.arch().name(), &path, &LoadOptions::default()).unwrap();
        assert_eq!(back, m, "{:?}", m.arch());
    }
}

#[test]
fn random_init_is_seeded() {
    for spec in specs() {
        assert_eq!(
            random_init(&spec, 5).unwrap(),
            random_init(&spec, 5).unwrap()
        );
        assert_ne!(
            random_init(&spec, 5).unwrap(),
            random_init(&spec, 6).unwrap()
        );
    }
}

#[test]
fn batch_outputs_equal_single_runs_bit_for_bit() {
    for prec in ["f32", "e4m3", "fixed:1.6", "bf16"] {
        for (i, spec) in specs().iter().enumerate() {
            let m = random_init(spec, 10 + i as u64).unwrap();
            let mut st = Stats::default();
            let pm = m.prepare(&p(prec), &mut st).unwrap();
            // 37 sequences: two full blocks, a partial one, and a length change.
            let batch: Vec<Vec<Vec<f64>>> = (0..37)
                .map(|s| inputs(m.input_size(), if s < 30 { 6 } else { 4 }, s))
                .collect();
            let mut bs = Stats::default();
            let outs = pm.final_outputs(&batch, &mut bs).unwrap();
            let mut ss = Stats::default();
            for (seq, out) in batch.iter().zip(&outs) {
                let tr = pm.forward(seq, &mut ss).unwrap();
                let want = tr.outputs.last().unwrap();
                assert_eq!(
                    out.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "{prec} {:?}",
                    m.arch()
                );
            }
            if m.arch() == Arch::Transformer {
                // Only the last position is computed: no more events than the forward pass.
                assert!(
                    bs.saturated <= ss.saturated && bs.nan <= ss.nan,
                    "{prec}: {bs:?} vs {ss:?}"
                );
            } else {
                assert_eq!(bs, ss, "{prec} {:?}: same events counted", m.arch());
            }
        }
    }
}

#[test]
fn stepping_reproduces_the_forward_states() {
    for (i, spec) in specs().iter().enumerate() {
        let m = random_init(spec, 20 + i as u64).unwrap();
        let Some(mut state) = m.initial_state() else {
            continue;
        };
        let xs = inputs(m.input_size(), 5, 3);
        let mut st = Stats::default();
        let pm = m.prepare(&p("bf16"), &mut st).unwrap();
        let tr = pm.forward(&xs, &mut st).unwrap();
        for (x, want) in xs.iter().zip(&tr.states) {
            state = pm.step(&state, x, &mut st).unwrap();
            assert_eq!(&state, want);
        }
        // Splitting the run is the same as one run (the prefix/suffix protocol).
        let mid = pm.forward(&xs[..2], &mut st).unwrap().states[1].clone();
        let rest = pm.run_from(&mid, &xs[2..], &mut st).unwrap();
        assert_eq!(rest.outputs, tr.outputs[2..]);
        assert_eq!(m.state_size(), Some(state.len()));
    }
}

#[test]
fn rounding_happens_at_the_precision() {
    let m = random_init(
        &Spec::Lstm {
            input: 3,
            hidden: 4,
            layers: 1,
            output: None,
        },
        1,
    )
    .unwrap();
    let xs = inputs(3, 4, 1);
    let mut st = Stats::default();
    for prec in ["e4m3", "fixed:1.6", "bf16"] {
        let pr = p(prec);
        let tr = m.forward(&xs, &pr, &mut st).unwrap();
        for v in tr.states.iter().flatten() {
            assert_eq!(
                pr.round(*v, &mut Stats::default()),
                *v,
                "{prec}: {v} on the grid"
            );
        }
    }
    let exact = m.forward(&xs, &p("f64"), &mut st).unwrap();
    let coarse = m.forward(&xs, &p("e4m3"), &mut st).unwrap();
    assert_ne!(exact.states, coarse.states);
    // paper:K is resolved with the input length.
    let tr = m.forward(&xs, &p("paper:2"), &mut st).unwrap();
    assert_eq!(tr.states.len(), 4);
    assert!(m.prepare(&p("paper:2"), &mut st).is_err());
}

#[test]
fn user_errors_are_input_errors_that_name_the_tensor_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let mut w = TensorWriter::new();
    w.matrix("rnn.weight_ih_l0", &Matrix::zeros(16, 3));
    w.matrix("rnn.weight_hh_l0", &Matrix::zeros(16, 5));
    w.write(&path).unwrap();
    let e = load("lstm", &path, &LoadOptions::default()).unwrap_err();
    assert!(
        e.message.contains("rnn.weight_hh_l0")
            && e.message.contains("[16, 5]")
            && e.message.contains("[16, 4]"),
        "{e}"
    );
    let mut w = TensorWriter::new();
    w.matrix("weight_ih_l0", &Matrix::zeros(16, 3));
    w.write(&path).unwrap();
    let e = load("lstm", &path, &LoadOptions::default()).unwrap_err();
    assert!(
        e.message.contains("weight_hh_l0") && e.message.contains("missing"),
        "{e}"
    );
    let e = load("gru", &path, &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("multiple of 3"), "{e}");
    assert!(load("lstm", &dir.path().join("none"), &LoadOptions::default()).is_err());
    std::fs::write(&path, b"not a safetensors file").unwrap();
    assert!(load("lstm", &path, &LoadOptions::default()).is_err());
    assert!(load("cnn", &path, &LoadOptions::default()).is_err());

    let m = random_init(
        &Spec::Gru {
            input: 2,
            hidden: 3,
            layers: 1,
            output: None,
        },
        0,
    )
    .unwrap();
    let mut st = Stats::default();
    assert!(
        m.forward(&[vec![1.0, 2.0, 3.0]], &p("f32"), &mut st)
            .is_err()
    );
    assert!(m.step(&[0.0; 2], &[1.0, 2.0], &p("f32"), &mut st).is_err());
    m.save(&path).unwrap();
    let e = load("lstm", &path, &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("gru"), "{e}");
    let tr = random_init(&specs()[5], 0).unwrap();
    assert!(
        tr.forward(&inputs(5, 9, 0), &p("f32"), &mut st).is_err(),
        "longer than the table"
    );
    assert!(tr.initial_state().is_none());
    assert!(tr.step(&[], &[0.0; 5], &p("f32"), &mut st).is_err());
}

/// A Transformer over one-hot inputs of `vocab` tokens, with one embedding row made all
/// negative (a `−0.0` at token 2) and one all zero, so the signed zeros of the one-hot
/// embedding shortcut are exercised.
fn one_hot_transformer(spec: TransformerSpec, seed: u64) -> Model {
    let Model::Transformer(t) = random_init(&Spec::Transformer(spec), seed).unwrap() else {
        unreachable!("a Transformer spec")
    };
    let w = t.embed().weight();
    let mut m = w.clone();
    for c in 0..w.cols() {
        m.set(
            0,
            c,
            if c == 2 {
                -0.0
            } else {
                -w.get(0, c).abs() - 0.01
            },
        );
        m.set(1, c, 0.0);
    }
    let embed = Linear::new(m, t.embed().bias().map(<[f64]>::to_vec)).unwrap();
    Model::Transformer(
        Transformer::new(
            embed,
            t.pos().clone(),
            t.blocks().to_vec(),
            t.ln_f().cloned(),
            t.head().cloned(),
            t.heads(),
            t.causal(),
        )
        .unwrap(),
    )
}

#[test]
fn last_outputs_equal_the_forward_pass_bit_for_bit() {
    use crate::numeric::Accumulate;
    use rand::RngExt;
    let (vocab, len) = (7, 11);
    let mut specs = Vec::new();
    for layers in [1, 2] {
        for (layer_norm, causal, heads, d_ff, pos) in [
            (
                false,
                true,
                1,
                Some(12),
                PosSpec::Learned { max_len: len + 1 },
            ),
            (true, false, 2, None, PosSpec::Sinusoidal),
            (true, true, 2, Some(6), PosSpec::None),
        ] {
            specs.push(TransformerSpec {
                input: vocab,
                d_model: 8,
                heads,
                layers,
                d_ff,
                output: Some(3),
                layer_norm,
                pos,
                causal,
            });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (si, spec) in specs.iter().enumerate() {
        let m = one_hot_transformer(*spec, 30 + si as u64);
        for name in [
            "f64",
            "f32",
            "bf16",
            "e4m3",
            "fixed:4.8",
            "fixed:2.3",
            "fixed:0.4",
            "paper:2",
        ] {
            for acc in [Accumulate::Wide, Accumulate::Format] {
                let prec = p(name)
                    .with_accumulate(acc)
                    .for_length(len as u64 + 1)
                    .unwrap();
                let mut st = Stats::default();
                let pm = m.prepare(&prec, &mut st).unwrap();
                let prefix: Vec<u32> = (0..len)
                    .map(|_| rng.random_range(0..vocab as u32))
                    .collect();
                let items: Vec<Continuation> = (0..37)
                    .map(|i| Continuation {
                        edits: match i % 3 {
                            0 => Vec::new(),
                            1 => {
                                vec![(rng.random_range(0..len), rng.random_range(0..vocab as u32))]
                            }
                            _ => vec![(0, 3), (len - 1, rng.random_range(0..vocab as u32))],
                        },
                        last: rng.random_range(0..vocab as u32),
                    })
                    .collect();
                let cache = pm.prefix_cache(&prefix, &mut st).unwrap();
                let fast = pm.last_outputs(&cache, &items, &mut st).unwrap();
                let single = rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .build()
                    .unwrap()
                    .install(|| {
                        let cache = pm.prefix_cache(&prefix, &mut st).unwrap();
                        pm.last_outputs(&cache, &items, &mut st).unwrap()
                    });
                for (i, (c, out)) in items.iter().zip(&fast).enumerate() {
                    let mut tokens = prefix.clone();
                    for &(q, t) in &c.edits {
                        tokens[q] = t;
                    }
                    tokens.push(c.last);
                    let xs: Vec<Vec<f64>> = tokens
                        .iter()
                        .map(|&t| {
                            (0..vocab)
                                .map(|v| f64::from(u8::from(v == t as usize)))
                                .collect()
                        })
                        .collect();
                    let want = pm.forward(&xs, &mut st).unwrap().outputs.pop().unwrap();
                    assert!(
                        same_bits(out, &want),
                        "spec {si}, {name} {acc:?}, continuation {i}: {out:?} vs {want:?}"
                    );
                    assert!(
                        same_bits(out, &single[i]),
                        "thread count changed the result"
                    );
                }
            }
        }
    }
}

#[test]
fn last_outputs_refuse_bad_continuations() {
    let spec = TransformerSpec {
        input: 5,
        d_model: 8,
        heads: 2,
        layers: 1,
        d_ff: None,
        output: Some(2),
        layer_norm: false,
        pos: PosSpec::Learned { max_len: 4 },
        causal: true,
    };
    let m = random_init(&Spec::Transformer(spec), 1).unwrap();
    let mut st = Stats::default();
    let pm = m.prepare(&p("f32"), &mut st).unwrap();
    assert!(
        pm.prefix_cache(&[0, 5], &mut st).is_err(),
        "token outside the inputs"
    );
    assert!(
        pm.prefix_cache(&[0, 1, 2, 3], &mut st).is_err(),
        "longer than the table"
    );
    let cache = pm.prefix_cache(&[0, 1, 2], &mut st).unwrap();
    let bad = [
        Continuation {
            edits: vec![],
            last: 5,
        },
        Continuation {
            edits: vec![(3, 0)],
            last: 0,
        },
        Continuation {
            edits: vec![(1, 0), (1, 2)],
            last: 0,
        },
    ];
    for c in bad {
        assert!(pm.last_outputs(&cache, &[c], &mut st).is_err());
    }
    // An empty prefix: the last token alone.
    let empty = pm.prefix_cache(&[], &mut st).unwrap();
    let c = Continuation {
        edits: vec![],
        last: 4,
    };
    let got = pm.last_outputs(&empty, &[c], &mut st).unwrap();
    let want = pm
        .forward(&[vec![0.0, 0.0, 0.0, 0.0, 1.0]], &mut st)
        .unwrap();
    assert!(same_bits(&got[0], want.outputs.last().unwrap()));
    let lstm = random_init(
        &Spec::Lstm {
            input: 5,
            hidden: 3,
            layers: 1,
            output: None,
        },
        0,
    )
    .unwrap();
    let pl = lstm.prepare(&p("f32"), &mut st).unwrap();
    assert!(pl.prefix_cache(&[0], &mut st).is_err());
}

// ---- The fast final-output pass of the Transformer (`last_position`). ----

/// Entries of a `rows × cols` matrix where `live(r, c)`: three in four uniform in `±1`, the
/// rest (and every other entry) zero.
fn sparse_matrix(
    rng: &mut ChaCha8Rng,
    rows: usize,
    cols: usize,
    live: &dyn Fn(usize, usize) -> bool,
) -> Matrix {
    use rand::RngExt;
    let mut m = Matrix::zeros(rows, cols);
    for r in 0..rows {
        for c in 0..cols {
            if live(r, c) && rng.random_bool(0.75) {
                m.set(r, c, rng.random_range(-1.0..1.0));
            }
        }
    }
    m
}

/// A random Transformer whose residual stream has named blocks of three coordinates — `tok`
/// (the only block the embedding writes), `pos` (the positional table's), `a` and `b` (written
/// by the layers) — where every map reads a random set of blocks and every layer writes one
/// block. By chance a layer is not needed before the last position (nothing above reads what
/// it writes) or has position-only attention (its queries and keys read only `pos`, or
/// nothing).
fn block_transformer(
    seed: u64,
    layers: usize,
    heads: usize,
    layer_norm: bool,
    causal: bool,
    len: usize,
) -> Model {
    use rand::RngExt;
    const D: usize = 12;
    const INPUT: usize = 4;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let block = |c: usize| c / 3;
    let reads =
        |rng: &mut ChaCha8Rng| -> Vec<usize> { (0..4).filter(|_| rng.random_bool(0.5)).collect() };
    let bias = |rng: &mut ChaCha8Rng, n: usize, live: &dyn Fn(usize) -> bool| {
        rng.random_bool(0.5).then(|| {
            (0..n)
                .map(|r| {
                    if live(r) {
                        rng.random_range(-1.0..1.0)
                    } else {
                        0.0
                    }
                })
                .collect::<Vec<f64>>()
        })
    };
    let reading = |rng: &mut ChaCha8Rng, rows: usize| {
        let set = reads(rng);
        let w = sparse_matrix(rng, rows, D, &|_, c| set.contains(&block(c)));
        let b = bias(rng, rows, &|_| true);
        Linear::new(w, b).unwrap()
    };
    let writing = |rng: &mut ChaCha8Rng, cols: usize| {
        let to = rng.random_range(2..4);
        let w = sparse_matrix(rng, D, cols, &|r, _| block(r) == to);
        let b = bias(rng, D, &|r| block(r) == to);
        Linear::new(w, b).unwrap()
    };
    let ln = |on: bool| {
        on.then(|| LayerNorm {
            weight: vec![1.0; D],
            bias: vec![0.0; D],
            eps: 1e-5,
        })
    };
    let embed_w = sparse_matrix(&mut rng, D, INPUT, &|r, _| block(r) == 0);
    let embed = Linear::new(embed_w, bias(&mut rng, D, &|_| true)).unwrap();
    let tok_too = rng.random_bool(0.5);
    let pos = sparse_matrix(&mut rng, len, D, &|_, c| {
        block(c) == 1 || (tok_too && block(c) == 0)
    });
    let blocks = (0..layers)
        .map(|_| {
            let (q, k, v) = (
                reading(&mut rng, 2 * heads),
                reading(&mut rng, 2 * heads),
                reading(&mut rng, 2 * heads),
            );
            let o = writing(&mut rng, 2 * heads);
            let mlp = rng
                .random_bool(0.5)
                .then(|| (reading(&mut rng, 4), writing(&mut rng, 4)));
            Block {
                ln1: ln(layer_norm),
                q,
                k,
                v,
                o,
                ln2: ln(layer_norm && mlp.is_some()),
                mlp,
            }
        })
        .collect();
    let head = Linear::random(D, 2, true, &mut rng);
    Model::Transformer(
        Transformer::new(
            embed,
            PosCode::Table(pos),
            blocks,
            ln(layer_norm),
            Some(head),
            heads,
            causal,
        )
        .unwrap(),
    )
}

/// Precisions the fast pass is checked at: floats, fixed point and the paper's grid, each
/// with both accumulation modes.
fn last_pass_precisions(len: usize) -> Vec<Precision> {
    use crate::numeric::Accumulate;
    let mut out = Vec::new();
    for name in [
        "f64",
        "f32",
        "bf16",
        "e4m3",
        "fixed:4.8",
        "fixed:2.3",
        "paper:2",
    ] {
        for acc in [Accumulate::Wide, Accumulate::Format] {
            out.push(p(name).with_accumulate(acc).for_length(len as u64).unwrap());
        }
    }
    out
}

#[test]
fn final_outputs_of_sparse_transformers_equal_the_forward_pass_bit_for_bit() {
    let len = 9;
    // How often the plans skipped something, over the saturating formats: a layer not needed
    // before the last position, stored weights for a layer needed everywhere, for the last
    // layer, and fewer coordinates than d_model.
    let (mut idle, mut stored_full, mut stored_top, mut sliced) = (0, 0, 0, 0);
    let mut seed = 0;
    for layers in [1, 2, 3] {
        for heads in [1, 2] {
            for layer_norm in [false, true] {
                for causal in [true, false] {
                    for _ in 0..2 {
                        seed += 1;
                        let m = block_transformer(seed, layers, heads, layer_norm, causal, len);
                        let Model::Transformer(tr) = &m else {
                            unreachable!()
                        };
                        let batch: Vec<Vec<Vec<f64>>> =
                            (0..20).map(|s| inputs(4, len, 1000 * seed + s)).collect();
                        for prec in last_pass_precisions(len) {
                            let pm = m.prepare(&prec, &mut Stats::default()).unwrap();
                            let what = format!(
                                "seed {seed}: {layers} layers, {heads} heads, ln {layer_norm}, causal {causal}, {} {:?}",
                                prec.name(),
                                prec.accumulate()
                            );
                            check_final_pass(&pm, &batch, &what);
                            // The same weights with a GELU MLP take the fast path too.
                            let gelu =
                                Model::Transformer(tr.clone().with_layout(true, Activation::Gelu));
                            let pg = gelu.prepare(&prec, &mut Stats::default()).unwrap();
                            check_final_pass(&pg, &batch, &format!("{what}, GELU"));
                            let Model::Transformer(pt) = pm.model() else {
                                unreachable!()
                            };
                            if let Some((keep, stored, full)) =
                                pm.last.as_ref().unwrap().shape(pt, &pm.ar, len)
                            {
                                idle += full[..layers - 1].iter().filter(|f| !**f).count();
                                stored_full +=
                                    (0..layers - 1).filter(|&i| stored[i] && full[i]).count();
                                stored_top += usize::from(stored[layers - 1]);
                                sliced += usize::from(keep < tr.d_model());
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        idle > 0 && stored_full > 0 && stored_top > 0 && sliced > 0,
        "skipped too little to test: {idle} idle layers, {stored_full} stored full layers, {stored_top} stored last layers, {sliced} sliced plans"
    );
}

/// Uniform attention (queries and keys with no weights, only biases) in every layer of long
/// sequences: the stored rows are runs of equal weights, summed from exact prefix sums on a
/// fixed-point grid with `Accumulate::Wide`, term by term otherwise.
#[test]
fn uniform_attention_over_long_rows_gives_the_forward_bits() {
    let len = 100;
    let mut runs = 0;
    for (seed, causal) in [(1, true), (2, false), (3, true)] {
        let Model::Transformer(t) = block_transformer(seed, 2, 2, false, causal, len) else {
            unreachable!()
        };
        let flat = |l: &Linear| {
            let b = (0..l.out_size()).map(|r| 0.25 * r as f64).collect();
            Linear::new(Matrix::zeros(l.out_size(), l.in_size()), Some(b)).unwrap()
        };
        let blocks = t
            .blocks()
            .iter()
            .map(|b| Block {
                q: flat(&b.q),
                k: flat(&b.k),
                ..b.clone()
            })
            .collect();
        let m = Model::Transformer(
            Transformer::new(
                t.embed().clone(),
                t.pos().clone(),
                blocks,
                None,
                t.head().cloned(),
                2,
                causal,
            )
            .unwrap(),
        );
        let batch: Vec<Vec<Vec<f64>>> = (0..20).map(|s| inputs(4, len, 50 + s)).collect();
        for prec in last_pass_precisions(len) {
            let pm = m.prepare(&prec, &mut Stats::default()).unwrap();
            check_final_pass(
                &pm,
                &batch,
                &format!("uniform, seed {seed}, {}", prec.name()),
            );
            let Model::Transformer(pt) = pm.model() else {
                unreachable!()
            };
            runs += pm.last.as_ref().unwrap().runs(pt, &pm.ar, len);
        }
    }
    assert!(runs > 0, "no row was stored as a run");
}

/// Random one-hot sequences of `len` tokens over `vocab`, and random real ones.
fn one_hot_batch(vocab: usize, len: usize, count: usize, seed: u64) -> Vec<Vec<Vec<f64>>> {
    use rand::RngExt;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            (0..len)
                .map(|_| {
                    let t = rng.random_range(0..vocab);
                    (0..vocab).map(|v| f64::from(u8::from(v == t))).collect()
                })
                .collect()
        })
        .collect()
}

/// A one-layer model on three coordinates: 0 the value (`−0` at position 0, `later` after it),
/// 1 a key code (8 at position 0: the last query attends to position 0 alone, every other
/// weight rounds to 0), 2 a sink holding `−0` that the attention output is added to, so the
/// output shows the sign of a zero attention output. The value row reads coordinate 0 with
/// weight 1 and coordinate 1 with `v1`.
fn signed_zero_model(v1: f64, later: f64, len: usize) -> Model {
    let embed = Matrix::from_rows(&[vec![-0.0, -0.0], vec![0.0, 0.0], vec![-0.0, -0.0]]).unwrap();
    let mut pos = Matrix::zeros(len, 3);
    for t in 0..len {
        pos.set(t, 0, if t == 0 { -0.0 } else { later });
        pos.set(t, 1, if t == 0 { 8.0 } else { 0.0 });
        pos.set(t, 2, -0.0);
    }
    let lin = |rows: &[Vec<f64>], bias: Option<Vec<f64>>| {
        Linear::new(Matrix::from_rows(rows).unwrap(), bias).unwrap()
    };
    let block = Block {
        ln1: None,
        q: Linear::new(Matrix::zeros(1, 3), Some(vec![1.0])).unwrap(),
        k: lin(&[vec![0.0, 1.0, 0.0]], None),
        v: lin(&[vec![1.0, v1, 0.0]], None),
        o: lin(&[vec![0.0], vec![0.0], vec![1.0]], None),
        ln2: None,
        mlp: None,
    };
    Model::Transformer(
        Transformer::new(
            Linear::new(embed, None).unwrap(),
            PosCode::Table(pos),
            vec![block],
            None,
            None,
            1,
            true,
        )
        .unwrap(),
    )
}

/// The stored weights keep position 0 only. (1) Its value is `−0` and the skipped weights
/// (rounded to 0) multiply values `+1`: the forward pass's value sum is `+0`, the kept terms
/// alone give `−0`. (2) Its value is `+0` in the forward pass (`−0·1 + +0·8`) but `−0` from
/// the value row's nonzero weight alone, and the skipped values are `−1`: the sliced plan's
/// output has the wrong zero, which the zero guard sends to the exact plan.
#[test]
fn sums_over_stored_weights_and_sparse_rows_keep_the_sign_of_zero() {
    let len = 6;
    for (case, v1, later, sliced_sign) in [(1, -0.0, 1.0, 0.0), (2, 0.0, -1.0, -0.0)] {
        let m = signed_zero_model(v1, later, len);
        let batch = one_hot_batch(2, len, 5, 1);
        let pm = m.prepare(&p("fixed:4.3"), &mut Stats::default()).unwrap();
        let want = pm.forward(&batch[0], &mut Stats::default()).unwrap();
        assert!(
            same_bits(&want.outputs[len - 1][2..], &[0.0]),
            "case {case}: the forward pass adds +0: {:?}",
            want.outputs[len - 1]
        );
        check_final_pass(&pm, &batch, &format!("signed zero, case {case}"));
        let Model::Transformer(pt) = pm.model() else {
            unreachable!()
        };
        let last = pm.last.as_ref().unwrap();
        let (_, stored, _) = last.shape(pt, &pm.ar, len).unwrap();
        assert_eq!(stored, vec![true]);
        let (sliced, _) = last.tiers(pt, &pm.ar, &[&batch[0].concat()]);
        assert!(
            same_bits(&sliced.unwrap()[2..], &[sliced_sign]),
            "case {case}: the sliced plan alone"
        );
    }
}

/// Only a Transformer has position-only attention to report (the constructions' layers are
/// checked in `tests/model_constructions.rs`).
#[test]
fn dense_position_only_attention_is_never_reported_for_recurrent_models() {
    for spec in specs() {
        let m = random_init(&spec, 1).unwrap();
        if !matches!(m, Model::Transformer(_)) {
            let pm = m.prepare(&p("f32"), &mut Stats::default()).unwrap();
            assert!(!pm.dense_attention(5), "{:?}", m.arch());
        }
    }
}

/// `Spec::parameters` counts, without building the model, every number `save` writes.
#[test]
fn parameters_are_counted_before_the_model_is_built() {
    let dir = tempfile::tempdir().unwrap();
    for (i, spec) in specs().iter().enumerate() {
        let m = random_init(spec, i as u64).unwrap();
        let path = dir.path().join(format!("m{i}.safetensors"));
        m.save(&path).unwrap();
        let t = weights::Tensors::read(&path).unwrap();
        let saved: u128 = t
            .names()
            .map(|n| t.shape(n).unwrap().iter().product::<usize>() as u128)
            .sum();
        assert_eq!(spec.parameters(), saved, "{spec:?}");
        assert_eq!(spec.memory(), 16 * saved);
    }
}

/// The largest random models `check` accepts flags for (`--width 4096 --layers 64`: about
/// 69 GB of LSTM weights) are refused with the estimate before anything is drawn; 4096 wide
/// with one layer still fits.
#[test]
fn random_models_over_the_memory_limit_are_refused_before_drawing() {
    let lstm = |hidden, layers| Spec::Lstm {
        input: 8,
        hidden,
        layers,
        output: Some(1),
    };
    let e = random_init(&lstm(4096, 64), 0).unwrap_err();
    assert!(e.message.contains("GiB of memory"), "{e}");
    assert!(
        e.settings().contains(&crate::error::Setting::Width)
            && e.settings().contains(&crate::error::Setting::Layers),
        "{e}"
    );
    let wide = Spec::Transformer(TransformerSpec {
        input: 8,
        d_model: 4096,
        heads: 4096,
        layers: 64,
        d_ff: Some(8192),
        output: Some(1),
        layer_norm: true,
        pos: PosSpec::Sinusoidal,
        causal: true,
    });
    assert!(random_init(&wide, 0).is_err());
    assert!(lstm(4096, 1).memory() <= MAX_RANDOM_MODEL_BYTES);
    assert!(lstm(4096, 64).memory() > MAX_RANDOM_MODEL_BYTES);
}

fn rows_same_bits(a: &[Vec<f64>], b: &[Vec<f64>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_bits(x, y))
}

/// A table `[V, E]` of seeded values in `±1.5`.
fn table(v: usize, e: usize, seed: u64) -> Matrix {
    Matrix::from_rows(&inputs(e, v, seed)).unwrap()
}

fn one_hot(v: usize, tokens: &[usize]) -> Vec<Vec<f64>> {
    tokens
        .iter()
        .map(|&t| (0..v).map(|i| f64::from(u8::from(i == t))).collect())
        .collect()
}

/// Every recurrent architecture with an embedding table before it: on one-hot inputs its
/// forward pass gives, at every precision, the bits of the same model without the table run
/// on the table's rows (the lookup is the rounded row), and it reads `V` numbers per step.
#[test]
fn an_embedding_stage_reads_the_rounded_table_row() {
    for (i, spec) in specs().iter().enumerate().take(5) {
        let plain = random_init(spec, i as u64).unwrap();
        let (v, e) = (7, plain.input_size());
        let tab = table(v, e, 40 + i as u64);
        let emb = plain
            .clone()
            .with_embedding(Some(Embedding::from_table(&tab).unwrap()))
            .unwrap();
        assert_eq!(emb.input_size(), v);
        assert_eq!(emb.parameter_count(), plain.parameter_count() + v * e);
        let tokens = [3, 0, 6, 6, 1, 5];
        for prec in ["f64", "f32", "bf16", "fixed:2.4", "e4m3"] {
            let mut st = Stats::default();
            let got = emb
                .forward(&one_hot(v, &tokens), &p(prec), &mut st)
                .unwrap();
            let rows: Vec<Vec<f64>> = tokens.iter().map(|&t| tab.row(t).to_vec()).collect();
            let want = plain.forward(&rows, &p(prec), &mut st).unwrap();
            assert!(
                rows_same_bits(&got.outputs, &want.outputs),
                "{spec:?} {prec}"
            );
            assert!(rows_same_bits(&got.states, &want.states), "{spec:?} {prec}");
        }
        // A wrong table width is refused by name.
        let bad = plain.with_embedding(Some(Embedding::from_table(&table(v, e + 1, 1)).unwrap()));
        assert!(bad.unwrap_err().message.contains("embedding table"));
    }
}

/// With an embedding, stepping, batched final outputs and the many-runs entry point the
/// prefix / suffix protocol uses all see the stage: each equals the forward pass bit for bit.
#[test]
fn every_entry_point_runs_the_embedding() {
    for (i, spec) in specs().iter().enumerate().take(5) {
        let v = 6;
        let plain = random_init(spec, 10 + i as u64).unwrap();
        let tab = table(v, plain.input_size(), i as u64);
        let m = plain
            .with_embedding(Some(Embedding::from_table(&tab).unwrap()))
            .unwrap();
        for prec in ["f64", "fixed:2.5"] {
            let pm = m.prepare(&p(prec), &mut Stats::default()).unwrap();
            let seqs: Vec<Vec<Vec<f64>>> = (0..20)
                .map(|s| one_hot(v, &[s % v, (s * 7 + 1) % v, (s / 3) % v, 2]))
                .collect();
            let mut st = Stats::default();
            let finals = pm.final_outputs(&seqs, &mut st).unwrap();
            let flat: Vec<Vec<f64>> = seqs.iter().map(|s| s.concat()).collect();
            let finals_flat = pm.final_outputs_flat(&flat, &mut st).unwrap();
            let s0 = m.initial_state().unwrap();
            let starts: Vec<&[f64]> = seqs.iter().map(|_| s0.as_slice()).collect();
            let ins: Vec<&[Vec<f64>]> = seqs.iter().map(Vec::as_slice).collect();
            let many = pm.run_many(&starts, &ins, true, &mut st).unwrap();
            for (k, seq) in seqs.iter().enumerate() {
                let tr = pm.forward(seq, &mut st).unwrap();
                let last = tr.outputs.last().unwrap();
                assert!(same_bits(&finals[k], last), "{spec:?} {prec}");
                assert!(same_bits(&finals_flat[k], last));
                assert!(same_bits(many[k].1.as_ref().unwrap(), last));
                // Two steps by hand, then the rest from the state reached.
                let mut state = s0.clone();
                for x in &seq[..2] {
                    state = pm.step(&state, x, &mut st).unwrap();
                }
                assert!(same_bits(&state, &tr.states[1]));
                let rest = pm.run_from(&state, &seq[2..], &mut st).unwrap();
                assert!(rows_same_bits(&rest.outputs, &tr.outputs[2..]));
            }
        }
    }
}

/// A model with an embedding saves it as `embedding.weight` `[V, E]` and loads back equal.
#[test]
fn an_embedding_round_trips_as_embedding_weight() {
    let dir = tempfile::tempdir().unwrap();
    for (i, spec) in specs().iter().enumerate().take(5) {
        let plain = random_init(spec, i as u64).unwrap();
        let e = plain.input_size();
        let m = plain
            .with_embedding(Some(Embedding::from_table(&table(9, e, 3)).unwrap()))
            .unwrap();
        let path = dir.path().join(format!("e{i}.safetensors"));
        m.save(&path).unwrap();
        let t = weights::Tensors::read(&path).unwrap();
        assert_eq!(t.shape("embedding.weight"), Some(&[9, e][..]));
        let back = load(m.arch().name(), &path, &LoadOptions::default()).unwrap();
        assert_eq!(back, m, "{:?}", m.arch());
    }
}

/// A random Transformer (layer norms, MLP, learned positions) in the layout given.
fn laid_out(layers: usize, causal: bool, norm_first: bool, act: Activation, seed: u64) -> Model {
    let spec = TransformerSpec {
        input: 5,
        d_model: 8,
        heads: 2,
        layers,
        d_ff: Some(12),
        output: Some(3),
        layer_norm: true,
        pos: PosSpec::Learned { max_len: 9 },
        causal,
    };
    let Model::Transformer(t) = random_init(&Spec::Transformer(spec), seed).unwrap() else {
        unreachable!("a Transformer spec")
    };
    Model::Transformer(t.with_layout(norm_first, act))
}

/// Post-LN and GELU at one position, where attention reads only the position itself:
/// `x1 = LN1(x + W_o v + b_o)`, `x2 = LN2(x1 + W_2 gelu(W_1 x1 + b_1) + b_2)`, the head on
/// `LN_f(x2)`, computed here in plain `f64`, is what the forward pass gives at `f64`.
#[test]
fn post_ln_and_gelu_compute_pytorchs_equations() {
    let m = laid_out(1, true, false, Activation::Gelu, 3);
    let Model::Transformer(t) = &m else {
        unreachable!()
    };
    let lin = |l: &Linear, x: &[f64]| -> Vec<f64> {
        (0..l.out_size())
            .map(|r| {
                let w = l.weight().row(r);
                w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + l.bias().map_or(0.0, |b| b[r])
            })
            .collect()
    };
    let ln = |n: &LayerNorm, x: &[f64]| -> Vec<f64> {
        let d = x.len() as f64;
        let mean = x.iter().sum::<f64>() / d;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d;
        x.iter()
            .enumerate()
            .map(|(i, v)| (v - mean) / (var + n.eps).sqrt() * n.weight[i] + n.bias[i])
            .collect()
    };
    let add = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x + y).collect::<Vec<_>>();
    let gelu = |x: f64| 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2));
    let input = vec![0.3, -1.0, 0.5, 0.0, 2.0];
    let PosCode::Table(pos) = t.pos() else {
        unreachable!()
    };
    let x = add(&lin(t.embed(), &input), pos.row(0));
    let b = &t.blocks()[0];
    let x1 = ln(
        b.ln1.as_ref().unwrap(),
        &add(&x, &lin(&b.o, &lin(&b.v, &x))),
    );
    let (f1, f2) = b.mlp.as_ref().unwrap();
    let h: Vec<f64> = lin(f1, &x1).into_iter().map(gelu).collect();
    let x2 = ln(b.ln2.as_ref().unwrap(), &add(&x1, &lin(f2, &h)));
    let want = lin(t.head().unwrap(), &ln(t.ln_f().unwrap(), &x2));
    let got = m
        .forward(&[input], &p("f64"), &mut Stats::default())
        .unwrap();
    for (g, w) in got.outputs[0].iter().zip(&want) {
        assert!((g - w).abs() <= 1e-12 * w.abs().max(1.0), "{g} vs {w}");
    }
    // The same weights pre-LN compute something else.
    let pre = Model::Transformer(t.clone().with_layout(true, Activation::Gelu));
    let other = pre.forward(
        &[vec![0.3, -1.0, 0.5, 0.0, 2.0]],
        &p("f64"),
        &mut Stats::default(),
    );
    assert_ne!(other.unwrap().outputs, got.outputs);
}

/// Post-LN and GELU Transformers: batched final outputs (the plain pass post-LN, the fast path
/// pre-LN with GELU) and the continuations of a cached prefix give the forward pass's bits.
#[test]
fn post_ln_and_gelu_final_and_last_outputs_equal_the_forward_pass() {
    let (vocab, len) = (5, 7);
    for layers in [1, 2] {
        for causal in [true, false] {
            for (nf, act) in [
                (false, Activation::Gelu),
                (false, Activation::Relu),
                (true, Activation::Gelu),
            ] {
                let m = laid_out(layers, causal, nf, act, 7);
                for prec in ["f64", "f32", "fixed:3.6", "bf16"] {
                    let pm = m.prepare(&p(prec), &mut Stats::default()).unwrap();
                    let what = format!("{layers} layers causal {causal} {nf} {act:?} {prec}");
                    let batch = one_hot_batch(vocab, len, 20, 5);
                    let mut st = Stats::default();
                    let outs = pm.final_outputs(&batch, &mut st).unwrap();
                    for (s, o) in batch.iter().zip(&outs) {
                        let want = pm.forward(s, &mut st).unwrap().outputs.pop().unwrap();
                        assert!(same_bits(o, &want), "{what}");
                    }
                    let prefix: Vec<u32> = vec![1, 4, 0, 2, 3, 3];
                    let cache = pm.prefix_cache(&prefix, &mut st).unwrap();
                    let items: Vec<Continuation> = (0..vocab as u32)
                        .map(|last| Continuation {
                            edits: if layers == 1 { vec![(2, last)] } else { vec![] },
                            last,
                        })
                        .collect();
                    let got = pm.last_outputs(&cache, &items, &mut st).unwrap();
                    for (c, g) in items.iter().zip(&got) {
                        let mut toks = prefix.clone();
                        for &(q, tk) in &c.edits {
                            toks[q] = tk;
                        }
                        toks.push(c.last);
                        let seq: Vec<usize> = toks.iter().map(|&x| x as usize).collect();
                        let want = pm.forward(&one_hot(vocab, &seq), &mut st).unwrap();
                        assert!(same_bits(g, want.outputs.last().unwrap()), "{what}");
                    }
                }
            }
        }
    }
}

/// PyTorch's `nn.TransformerEncoder` names (`self_attn.in_proj_weight` …, `norm1`, `norm2`,
/// the final `norm`), an embedding table and a head named `classifier` load as the model they
/// were written from, with the settings a state dict does not record from the options or the
/// metadata; without them the load says which are needed.
#[test]
fn pytorch_encoder_layout_loads_with_its_settings() {
    let m = laid_out(2, false, false, Activation::Gelu, 11);
    let Model::Transformer(t) = &m else {
        unreachable!()
    };
    let mut w = weights::TensorWriter::new();
    let table = embedding::transpose(t.embed().weight());
    w.matrix("tok_emb.weight", &table);
    if let PosCode::Table(pt) = t.pos() {
        w.matrix("pos_emb.weight", pt);
    }
    for (l, b) in t.blocks().iter().enumerate() {
        let pfx = |s: &str| format!("encoder.layers.{l}.{s}");
        let mut inw = Vec::new();
        let mut inb = Vec::new();
        for lin in [&b.q, &b.k, &b.v] {
            inw.extend_from_slice(lin.weight().data());
            inb.extend_from_slice(lin.bias().unwrap());
        }
        w.tensor(pfx("self_attn.in_proj_weight"), vec![24, 8], &inw);
        w.tensor(pfx("self_attn.in_proj_bias"), vec![24], &inb);
        w.linear(&pfx("self_attn.out_proj"), &b.o);
        let (f1, f2) = b.mlp.as_ref().unwrap();
        w.linear(&pfx("linear1"), f1);
        w.linear(&pfx("linear2"), f2);
        for (name, n) in [("norm1", &b.ln1), ("norm2", &b.ln2)] {
            let n = n.as_ref().unwrap();
            w.vector(pfx(&format!("{name}.weight")), &n.weight);
            w.vector(pfx(&format!("{name}.bias")), &n.bias);
        }
    }
    let f = t.ln_f().unwrap();
    w.vector("encoder.norm.weight", &f.weight);
    w.vector("encoder.norm.bias", &f.bias);
    w.linear("classifier", t.head().unwrap());
    let bytes = w.to_bytes().unwrap();
    let tensors = weights::Tensors::from_bytes(&bytes, std::path::Path::new("enc.safetensors"));
    let tensors = tensors.unwrap();
    // The table has no bias, so `embed` is the table transposed without one.
    let want = {
        let e = Linear::new(t.embed().weight().clone(), None).unwrap();
        let tr = Transformer::new(
            e,
            t.pos().clone(),
            t.blocks().to_vec(),
            t.ln_f().cloned(),
            t.head().cloned(),
            2,
            false,
        )
        .unwrap()
        .with_layout(false, Activation::Gelu);
        Model::Transformer(tr)
    };
    let e = from_tensors(Arch::Transformer, &tensors, &LoadOptions::default()).unwrap_err();
    for s in ["heads=H", "norm-first=", "activation=", "causal="] {
        assert!(e.message.contains(s), "{e}");
    }
    let opts = LoadOptions {
        heads: Some(2),
        norm_first: Some(false),
        activation: Some(Activation::Gelu),
        causal: Some(false),
        ..LoadOptions::default()
    };
    let e = from_tensors(
        Arch::Transformer,
        &tensors,
        &LoadOptions {
            causal: None,
            ..opts.clone()
        },
    )
    .unwrap_err();
    assert!(
        e.message.contains("causal=") && !e.message.contains("heads=H"),
        "{e}"
    );
    let got = from_tensors(Arch::Transformer, &tensors, &opts).unwrap();
    assert_eq!(got, want);
    // The layout round-trips through ccsep's own scheme (metadata ccsep.norm_first, …).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.safetensors");
    got.save(&path).unwrap();
    assert_eq!(
        load("transformer", &path, &LoadOptions::default()).unwrap(),
        want
    );
}

/// The layout ccsep's own training writes for a Transformer: the ccsep scheme's layers with an
/// embedding table `embedding.weight` `[V, d]` instead of `embed.weight`, a learned table
/// `pos.weight` and `head.weight` / `head.bias`: the table becomes a bias-free `embed`.
#[test]
fn a_transformer_reads_an_embedding_table_instead_of_embed() {
    let m = laid_out(2, true, true, Activation::Relu, 5);
    let Model::Transformer(t) = &m else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("t.safetensors");
    m.save(&saved).unwrap();
    let src = weights::Tensors::read(&saved).unwrap();
    let mut w = weights::TensorWriter::new();
    for name in src.names().filter(|n| !n.starts_with("embed.")) {
        let shape = src.shape(name).unwrap().to_vec();
        w.tensor(name, shape.clone(), src.get(name, &shape).unwrap());
    }
    w.matrix(
        "embedding.weight",
        &embedding::transpose(t.embed().weight()),
    );
    w.meta("ccsep.heads", 2);
    let path = dir.path().join("trained.safetensors");
    w.write(&path).unwrap();
    let Model::Transformer(got) = load("transformer", &path, &LoadOptions::default()).unwrap()
    else {
        unreachable!()
    };
    assert_eq!(got.embed().weight(), t.embed().weight());
    assert!(got.embed().bias().is_none());
    assert_eq!(got.blocks(), t.blocks());
    assert_eq!((got.head(), got.pos()), (t.head(), t.pos()));
}

/// An SSM file with a head beside its output map `ssm.C` is refused rather than the head
/// dropped; `head=none` says to drop it.
#[test]
fn an_ssm_refuses_a_head_it_would_drop() {
    let m = random_init(&specs()[3], 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("s.safetensors");
    m.save(&saved).unwrap();
    let src = weights::Tensors::read(&saved).unwrap();
    let mut w = weights::TensorWriter::new();
    for name in src.names() {
        let shape = src.shape(name).unwrap().to_vec();
        w.tensor(name, shape.clone(), src.get(name, &shape).unwrap());
    }
    w.tensor("head.weight", vec![2, 6], &[0.5; 12]);
    let path = dir.path().join("h.safetensors");
    w.write(&path).unwrap();
    let e = load("ssm", &path, &LoadOptions::default()).unwrap_err();
    assert!(e.message.contains("ssm.C"), "{e}");
    let o = LoadOptions {
        head: Some("none".into()),
        ..LoadOptions::default()
    };
    assert!(
        load("ssm", &path, &o)
            .unwrap_err()
            .message
            .contains("head.weight [2, 6]")
    );
    let o = LoadOptions {
        ignore: vec!["head".into()],
        ..o
    };
    assert_eq!(load("ssm", &path, &o).unwrap(), m);
}

/// A file with a tensor the model would not read (a second head beside the first) is refused
/// with its name, and loads when it is left out knowingly (`--names ignore=MODULE`).
#[test]
fn a_tensor_the_model_would_not_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = random_init(
        &Spec::Lstm {
            input: 3,
            hidden: 4,
            layers: 1,
            output: Some(2),
        },
        1,
    )
    .unwrap();
    let saved = dir.path().join("m.safetensors");
    m.save(&saved).unwrap();
    let src = weights::Tensors::read(&saved).unwrap();
    let mut w = weights::TensorWriter::new();
    for name in src.names() {
        let shape = src.shape(name).unwrap().to_vec();
        w.tensor(name, shape.clone(), src.get(name, &shape).unwrap());
    }
    w.tensor("foo.weight", vec![2, 4], &[0.5; 8]);
    w.tensor("norm.bias", vec![4], &[0.0; 4]);
    let path = dir.path().join("extra.safetensors");
    w.write(&path).unwrap();
    let e = load("lstm", &path, &LoadOptions::default()).unwrap_err();
    assert!(
        e.message.contains("foo.weight [2, 4]") && e.message.contains("norm.bias [4]"),
        "{e}"
    );
    let o = LoadOptions {
        ignore: vec!["foo".into(), "norm".into()],
        ..LoadOptions::default()
    };
    assert_eq!(load("lstm", &path, &o).unwrap(), m);
}

/// `Prepared::attention` gives the forward pass's own trace, bit for bit, and one softmax row
/// per layer, head and position: over the positions it may see (causal: up to itself), each
/// weight in `[0, 1]` and each row summing to 1 up to the rounding of its entries. A
/// recurrent model has no attention and is refused.
#[test]
fn attention_weights_come_with_the_forward_pass() {
    for (spec, prec) in specs()
        .into_iter()
        .filter(|s| matches!(s, Spec::Transformer(_)))
        .flat_map(|s| [(s, "f64"), (s, "fixed:3.6")])
    {
        let Spec::Transformer(ts) = spec else {
            unreachable!("filtered")
        };
        let m = random_init(&spec, 11).unwrap();
        let prepared = m.prepare(&p(prec), &mut Stats::default()).unwrap();
        let xs = inputs(ts.input, 6, 2);
        let plain = prepared.forward(&xs, &mut Stats::default()).unwrap();
        let (trace, weights) = prepared.attention(&xs, &mut Stats::default()).unwrap();
        assert!(rows_same_bits(&trace.outputs, &plain.outputs), "{prec}");
        assert!(rows_same_bits(&trace.states, &plain.states), "{prec}");
        assert_eq!(weights.len(), ts.layers);
        for layer in &weights {
            assert_eq!(layer.len(), ts.heads);
            for head in layer {
                assert_eq!(head.len(), xs.len());
                for (t, row) in head.iter().enumerate() {
                    let keys = if ts.causal { t + 1 } else { xs.len() };
                    assert_eq!(row.len(), keys);
                    assert!(row.iter().all(|w| (0.0..=1.0).contains(w)), "{row:?}");
                    let sum: f64 = row.iter().sum();
                    let step = if prec == "f64" { 1e-12 } else { 1.0 / 64.0 };
                    assert!((sum - 1.0).abs() <= step * keys as f64, "{prec}: {sum}");
                }
            }
        }
    }
    let rnn = random_init(&specs()[0], 1).unwrap();
    let prepared = rnn.prepare(&p("f64"), &mut Stats::default()).unwrap();
    let err = prepared
        .attention(&inputs(3, 2, 0), &mut Stats::default())
        .unwrap_err();
    assert!(err.message.contains("no attention"), "{}", err.message);
}
