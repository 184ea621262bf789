//! Unit tests of the model module: weights round trip, batch = single runs, step = forward,
//! and the errors a user can cause.

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
            assert_eq!(bs, ss, "{prec} {:?}: same events counted", m.arch());
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

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
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
