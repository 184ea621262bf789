//! The models' fast paths on the paper's constructions (built by `construct`, which `model`
//! does not use, even in its unit tests): the Transformer's last-position pass skips what the
//! constructions let it skip and still gives the forward pass's bits, whatever the thread count;
//! the index RNN's weights held sparse give the same check through the sparse and the dense
//! products, and save as dense tensors (or are refused when too large).

use ccsep::construct::recurrent::{Stop, index_rnn, verify_index};
use ccsep::construct::{ConstructOptions, construct};
use ccsep::error::InputError;
use ccsep::model::testing::{
    check_final_pass, dense_only, dense_without_budget, plan_shape, same_bits,
};
use ccsep::model::weights::TensorWriter;
use ccsep::model::{
    Linear, Matrix, Model, Nonlinearity, RecurrentLayer, Rnn, SparseMatrix, Transformer, Weight,
    load,
};
use ccsep::numeric::{Accumulate, Precision, Stats};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn p(s: &str) -> Precision {
    Precision::parse(s).unwrap()
}

/// `len` random real input vectors of `n` numbers.
fn inputs(n: usize, len: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len)
        .map(|_| (0..n).map(|_| rng.random_range(-1.5..1.5)).collect())
        .collect()
}

/// Random one-hot sequences of `len` tokens over `vocab`.
fn one_hot_batch(vocab: usize, len: usize, count: usize, seed: u64) -> Vec<Vec<Vec<f64>>> {
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

/// The built Thm 6, Thm 13 and Thm 7 models at small `n`, with their own precisions.
fn constructions() -> Vec<(&'static str, Model, Precision)> {
    [("equality", 5), ("disjointness", 4), ("nearest", 4)]
        .into_iter()
        .map(|(name, n)| {
            let c = construct(
                name,
                &ConstructOptions {
                    n,
                    samples: 10,
                    ..ConstructOptions::default()
                },
            )
            .unwrap();
            (name, c.model.unwrap(), c.precision.unwrap())
        })
        .collect()
}

/// A construction's batch: real inputs for `nearest`, one-hot tokens otherwise.
fn batch_of(
    name: &str,
    tr: &Transformer,
    len: usize,
    count: usize,
    seed: u64,
) -> Vec<Vec<Vec<f64>>> {
    if name == "nearest" {
        (0..count as u64)
            .map(|s| inputs(tr.input_size(), len, s))
            .collect()
    } else {
        one_hot_batch(tr.input_size(), len, count, seed)
    }
}

#[test]
fn the_constructions_skip_and_still_give_the_forward_bits() {
    for (name, m, own) in constructions() {
        let Model::Transformer(tr) = &m else {
            unreachable!()
        };
        let len = tr.max_len().unwrap();
        let batch = batch_of(name, tr, len, 40, 7);
        let format = own.with_accumulate(Accumulate::Format);
        for prec in [own, format, p("f32"), p("f64"), p("bf16")] {
            let pm = m.prepare(&prec, &mut Stats::default()).unwrap();
            check_final_pass(&pm, &batch, &format!("{name} at {}", prec.name()));
        }
        // At the construction's own precision the plan skips what the module doc says.
        let pm = m.prepare(&own, &mut Stats::default()).unwrap();
        let (keep, stored, full) = plan_shape(&pm, len).unwrap();
        assert!(
            keep < tr.d_model(),
            "{name}: keeps {keep} of {}",
            tr.d_model()
        );
        if name == "nearest" {
            // Layer 2 reads only what the embedding wrote: layer 1 only at the last position.
            assert_eq!((stored, full), (vec![false, false], vec![false, false]));
        } else {
            // Layer 1's codes and layer 2's zero queries are position-only.
            assert_eq!((stored, full), (vec![true, true], vec![true, false]));
        }
    }
}

#[test]
fn tokens_or_layers_writing_what_attention_reads_turn_the_skipping_off() {
    for (name, m, own) in constructions() {
        let Model::Transformer(tr) = &m else {
            unreachable!()
        };
        let len = tr.max_len().unwrap();
        let mut blocks = tr.blocks().to_vec();
        let mut embed = tr.embed().weight().clone();
        if name == "nearest" {
            // Layer 2's values read layer 1's output: layer 1 is needed everywhere.
            let q = blocks[0].o.weight().clone();
            let written = (0..q.rows())
                .find(|&r| q.row(r).iter().any(|w| *w != 0.0))
                .unwrap();
            let mut v = blocks[1].v.weight().clone();
            v.set(0, written, 0.5);
            blocks[1].v = Linear::new(v, None).unwrap();
        } else {
            // Token 0 writes a coordinate layer 1's keys read: its weights depend on the tokens.
            let k = blocks[0].k.weight();
            let read = (0..k.cols())
                .find(|&c| (0..k.rows()).any(|r| k.get(r, c) != 0.0))
                .unwrap();
            embed.set(read, 0, 0.5);
        }
        let bent = Model::Transformer(
            Transformer::new(
                Linear::new(embed, tr.embed().bias().map(<[f64]>::to_vec)).unwrap(),
                tr.pos().clone(),
                blocks,
                tr.ln_f().cloned(),
                tr.head().cloned(),
                tr.heads(),
                tr.causal(),
            )
            .unwrap(),
        );
        let batch = batch_of(name, tr, len, 20, 3);
        let pm = bent.prepare(&own, &mut Stats::default()).unwrap();
        check_final_pass(&pm, &batch, &format!("bent {name}"));
        let (_, stored, full) = plan_shape(&pm, len).unwrap();
        if name == "nearest" {
            assert!(full[0], "{name}: layer 1 must run everywhere");
        } else {
            assert!(!stored[0], "{name}: layer 1's weights must not be stored");
        }
    }
}

#[test]
fn flat_batches_equal_nested_ones_and_bad_ones_are_errors() {
    let (_, m, own) = constructions().remove(0);
    let pm = m.prepare(&own, &mut Stats::default()).unwrap();
    let batch = one_hot_batch(3, 11, 20, 5);
    let flat: Vec<Vec<f64>> = batch.iter().map(|s| s.concat()).collect();
    let mut st = Stats::default();
    let (a, b) = (
        pm.final_outputs(&batch, &mut st).unwrap(),
        pm.final_outputs_flat(&flat, &mut st).unwrap(),
    );
    assert!(a.iter().zip(&b).all(|(x, y)| same_bits(x, y)));
    for bad in [vec![], vec![1.0, 0.0], vec![0.0; 3 * 12]] {
        let e = pm.final_outputs_flat(&[bad], &mut st).unwrap_err();
        assert!(e.message.contains("sequence 0"), "{e}");
    }
}

#[test]
fn final_outputs_do_not_depend_on_the_thread_count() {
    for (name, m, own) in constructions() {
        let Model::Transformer(tr) = &m else {
            unreachable!()
        };
        let len = tr.max_len().unwrap();
        let batch = batch_of(name, tr, len, 50, 11);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let pm = m.prepare(&own, &mut Stats::default()).unwrap();
                    let mut st = Stats::default();
                    let outs = pm.final_outputs(&batch, &mut st).unwrap();
                    (outs, st)
                })
        };
        let (one, st1) = run(1);
        let (four, st4) = run(4);
        assert_eq!(st1, st4, "{name}");
        for (a, b) in one.iter().zip(&four) {
            assert!(same_bits(a, b), "{name}: {a:?} vs {b:?}");
        }
    }
}

#[test]
fn dense_position_only_attention_is_reported_before_any_sequence_runs() {
    for (name, m, own) in constructions() {
        let Model::Transformer(tr) = &m else {
            unreachable!()
        };
        let len = tr.max_len().unwrap();
        let pm = m.prepare(&own, &mut Stats::default()).unwrap();
        // The constructions' layer-1 attention is hard: a few weights per row fit easily.
        assert!(!pm.dense_attention(len), "{name}");
        // With no budget for stored weights, a layer whose weights depend on the position only
        // (equality's and disjointness's layer 1) must be computed the plain way.
        let position_only = name != "nearest";
        assert_eq!(dense_without_budget(&pm, len), position_only, "{name}");
    }
}

/// The index RNN at `N = 64` (beyond the exhaustive range; its weights are held sparse, and
/// stay so when prepared) checked with zero skipping and without (where the held-sparse
/// product runs the dense `matvec` on blocks of rows) gives the same `IndexCheck`, correct
/// or broken, at two precisions.
#[test]
fn index_rnn_check_is_the_same_through_the_sparse_and_dense_paths() {
    let n = 64;
    let model = index_rnn(n).unwrap();
    let pm = model
        .prepare(&p("fixed:1.0"), &mut Stats::default())
        .unwrap();
    let Model::Rnn(prepared) = pm.model() else {
        panic!("the index model is an RNN")
    };
    // Both held sparse after rounding: no dense copy was made.
    assert!(prepared.layers()[0].w_hh.as_dense().is_none());
    assert!(prepared.layers()[0].w_ih.as_dense().is_none());
    let Model::Rnn(rnn) = &model else {
        unreachable!()
    };
    let mut layers = rnn.layers().to_vec();
    layers[0].w_hh.set(7, 6, 0.0).unwrap();
    let broken = Model::Rnn(Rnn::new(layers, rnn.nonlinearity(), rnn.head().cloned()).unwrap());
    for m in [&model, &broken] {
        for spec in ["fixed:1.0", "bf16"] {
            let prec = p(spec);
            let run = || verify_index(m, n, &prec, 8, 3, Stop::Never).unwrap();
            let sparse = run();
            let dense = dense_only(run);
            assert_eq!(sparse, dense, "{spec}");
            assert!(sparse.instances > 0 && !sparse.exhaustive);
        }
    }
}

/// A model whose recurrent weights are held sparse saves as dense tensors (written from
/// the stored entries) and loads back as the same model, dense; one whose dense tensors
/// would exceed 1 GiB is refused with an `InputError` (exit code 2), before any file is
/// written or any dense matrix built.
#[test]
fn sparse_models_save_dense_or_are_refused_when_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let model = index_rnn(40).unwrap();
    let path = dir.path().join("index.safetensors");
    model.save(&path).unwrap();
    let back = load("rnn", &path, &Default::default()).unwrap();
    let Model::Rnn(rnn) = &back else {
        panic!("an RNN")
    };
    assert!(rnn.layers()[0].w_ih.as_dense().is_some() && back == model);
    // 16384² numbers are 2 GiB: refused, whichever matrix is sparse.
    let n = 1 << 14;
    let rotation = || SparseMatrix::from_entries(n, n, (0..n).map(|j| (j, j, 1.0))).unwrap();
    let layer = RecurrentLayer {
        w_ih: SparseMatrix::from_entries(n, 3, [(0, 0, 1.0)])
            .unwrap()
            .into(),
        w_hh: rotation().into(),
        b_ih: None,
        b_hh: None,
    };
    let huge = Model::Rnn(Rnn::new(vec![layer], Nonlinearity::Relu, None).unwrap());
    let path = dir.path().join("huge.safetensors");
    let err = huge.save(&path).unwrap_err();
    let input = err.downcast_ref::<InputError>().expect("an InputError");
    assert!(
        input.message.contains("about 2048.4 MiB")
            && input.message.contains("limit 1024 MiB = 1 GiB")
            && input.message.contains(&format!("{n}×{n}")),
        "{input}"
    );
    assert!(!path.exists());
    // One tensor alone over the limit is refused by the writer too.
    let mut w = TensorWriter::new();
    assert!(w.weight("w", &rotation().into()).is_err());
    assert!(w.weight("w", &Weight::from(Matrix::zeros(2, 2))).is_ok());
}
