//! One training run: the loop, evaluation and early stop, best weights and checkpoints, and
//! the record a run leaves (one JSON line).
//!
//! The run's outcome is one of [`Status`]: the target accuracy reached (early stop), all steps
//! done, diverged (a NaN or infinite loss or gradient: recorded, not a crash; the best weights
//! so far are kept), or interrupted (Ctrl-C: the best weights so far are kept and a checkpoint
//! written, from which `resume` continues the same run, batch for batch).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::Tensor;
use serde::Serialize;

use super::config::TrainConfig;
use super::data::{Batch, Readout, Stream, batch};
use super::net::{NetShape, log_softmax_last};
use super::optim::{Adam, gradients, learning_rate};
use super::params::{Params, cerr};
use crate::error::InputError;
use crate::model::Arch;
use crate::model::weights::{TensorWriter, Tensors};
use crate::task::AnyTask;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The validation accuracy reached the target on two fresh draws in a row (early stop).
    Reached,
    /// Every step taken without reaching the target.
    Completed,
    /// The loss or a gradient became NaN or infinite.
    Diverged,
    /// Stopped by the user (Ctrl-C).
    Interrupted,
}

/// What a run leaves: printed as one JSON line.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    pub config: TrainConfig,
    pub seed: u64,
    pub status: Status,
    /// Steps taken in all (including those before a resume).
    pub steps: u64,
    /// Wall time of this invocation, seconds.
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Parameters (numbers) of the network.
    pub parameters: u128,
    /// Best validation accuracy seen, and at which step.
    pub best_accuracy: f64,
    pub best_step: u64,
    /// Validation accuracy at the last evaluation (for a run that reached the target, the
    /// confirming evaluation on a second fresh draw).
    pub final_accuracy: f64,
    /// Training loss of the last step.
    pub final_loss: f64,
    /// Where the best weights are (absent when the run was not asked to save).
    pub weights: Option<String>,
    /// The step this invocation resumed from (absent for a fresh run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_from: Option<u64>,
}

/// Where a run writes and how it reports.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Best weights go here (and the checkpoint beside it, `<out>.ckpt`).
    pub out: Option<PathBuf>,
    /// Continue from `<out>.ckpt`.
    pub resume: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Set by Ctrl-C: the run stops at the next step.
    pub stop: Option<Arc<AtomicBool>>,
}

/// The checkpoint path of a weights path.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_os_string();
    s.push(".ckpt");
    PathBuf::from(s)
}

/// The network's sizes for a config and task.
pub fn net_shape(cfg: &TrainConfig, task: &AnyTask) -> Result<NetShape, InputError> {
    let arch = cfg.arch()?;
    let r = Readout::of(task);
    let width = cfg.width;
    Ok(NetShape {
        arch,
        vocab: r.vocab,
        embed: if arch == Arch::Transformer {
            width
        } else {
            cfg.embed_size()
        },
        width,
        layers: cfg.layers,
        heads: cfg.heads,
        d_ff: cfg.ff * width,
        outputs: r.outputs,
        length: r.length,
        relu: cfg.nonlinearity()? == crate::model::Nonlinearity::Relu,
    })
}

/// Most tokens per example a run trains on: the backward pass walks a graph whose depth grows
/// with the length (a recurrent network's steps), and attention holds `[T, T]` scores.
pub const MAX_TRAIN_LENGTH: usize = 1024;

/// Validates a config and estimates its size, before anything is allocated.
pub fn prepare(cfg: &TrainConfig) -> Result<(AnyTask, NetShape), InputError> {
    cfg.validate()?;
    if cfg.arch()? == Arch::Transformer && cfg.embed.is_some_and(|e| e != cfg.width) {
        return Err(InputError::new(
            "--embed: the transformer's embedding size is its --width",
        ));
    }
    let task = cfg.build_task()?;
    let shape = net_shape(cfg, &task)?;
    if shape.length > MAX_TRAIN_LENGTH {
        return Err(InputError::new(format!(
            "--n {} makes sequences of {} tokens, more than training takes ({MAX_TRAIN_LENGTH}); lower --n",
            cfg.n, shape.length
        )));
    }
    let params = shape.parameter_count();
    if params > super::config::MAX_PARAMETERS {
        return Err(InputError::new(format!(
            "the model would have {params} parameters, more than training allows ({}); lower --width, --layers or --n",
            super::config::MAX_PARAMETERS
        )));
    }
    // What one forward pass keeps for the backward pass: per position and layer a few vectors
    // of the widest size, and for attention the [T, T] scores of every head.
    let (b, t) = (cfg.batch.max(cfg.eval_size) as u128, shape.length as u128);
    let widest = shape
        .width
        .max(shape.embed)
        .max(shape.d_ff)
        .max(shape.outputs) as u128;
    let scores = match shape.arch {
        Arch::Transformer => 3 * shape.heads as u128 * t,
        Arch::LinearAttention => 3 * t,
        _ => 0,
    };
    let acts = b * t * (widest * (cfg.layers as u128 * 8 + 4) + scores * cfg.layers as u128);
    if acts > super::config::MAX_ACTIVATIONS {
        return Err(InputError::new(format!(
            "one batch would hold about {acts} activations, more than training allows ({}); lower --batch / --eval-size, --width or --n",
            super::config::MAX_ACTIVATIONS
        )));
    }
    Ok((task, shape))
}

/// The mean cross-entropy of a batch and the logits of its scored positions (`[M, O]`).
fn loss_and_logits(
    shape: &NetShape,
    params: &Params,
    batch: &Batch,
) -> candle_core::Result<(Tensor, Tensor)> {
    let out = shape.forward(&|n| params.get(n), &batch.tokens)?;
    let (b, t, o) = out.dims3()?;
    let dev = out.device().clone();
    let rows = Tensor::from_vec(batch.rows.clone(), batch.rows.len(), &dev)?;
    let logits = out.reshape((b * t, o))?.index_select(&rows, 0)?;
    let m = batch.targets.len();
    let mut onehot = vec![0f32; m * o];
    for (i, &c) in batch.targets.iter().enumerate() {
        onehot[i * o + c as usize] = 1.0;
    }
    let onehot = Tensor::from_vec(onehot, (m, o), &dev)?;
    let loss = (log_softmax_last(&logits)? * onehot)?
        .sum_all()?
        .affine(-1.0 / m as f64, 0.0)?;
    Ok((loss, logits))
}

/// The fraction of examples whose every scored position's argmax is its target.
fn accuracy(logits: &Tensor, batch: &Batch) -> anyhow::Result<f64> {
    let rows: Vec<Vec<f32>> = logits.to_vec2().map_err(cerr)?;
    let mut right = vec![true; batch.size];
    for ((row, &c), &ex) in rows.iter().zip(&batch.targets).zip(&batch.example) {
        // argmax, the first index on a tie (so a tie between classes 0 and 1 reads as 0, as
        // ccsep decodes).
        let best = row
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                if v > bv { (i, v) } else { (bi, bv) }
            })
            .0;
        right[ex] &= best == c as usize;
    }
    Ok(right.iter().filter(|&&r| r).count() as f64 / batch.size as f64)
}

/// Validation accuracy on evaluation batch `k`.
fn evaluate(
    cfg: &TrainConfig,
    task: &AnyTask,
    shape: &NetShape,
    params: &Params,
    k: u64,
) -> anyhow::Result<f64> {
    let batch = batch(task, Stream::Eval, cfg.seed, k, cfg.eval_size, shape.length)?;
    let (_, logits) = loss_and_logits(shape, params, &batch).map_err(cerr)?;
    accuracy(&logits.detach(), &batch)
}

/// The weights file: the parameters under ccsep's names and the metadata its loader reads.
pub fn weights_writer(
    cfg: &TrainConfig,
    shape: &NetShape,
    params: &Params,
) -> anyhow::Result<TensorWriter> {
    let mut w = TensorWriter::new();
    params.write_into(&mut w, "")?;
    w.meta("ccsep.arch", shape.arch.name());
    match shape.arch {
        Arch::Rnn => w.meta("ccsep.nonlinearity", &cfg.nonlinearity),
        Arch::Transformer => {
            w.meta("ccsep.heads", shape.heads);
            w.meta("ccsep.causal", true);
            w.meta("ccsep.pos", "table");
            w.meta("ccsep.ln_eps", super::net::LN_EPS);
        }
        Arch::LinearAttention => w.meta("ccsep.eps", super::net::LA_EPS),
        _ => {}
    }
    w.meta("ccsep.train", serde_json::to_string(cfg)?);
    Ok(w)
}

struct State {
    step: u64,
    best_accuracy: f64,
    best_step: u64,
    final_accuracy: f64,
    evals: u64,
}

fn save_checkpoint(
    path: &Path,
    cfg: &TrainConfig,
    shape: &NetShape,
    params: &Params,
    adam: &Adam,
    st: &State,
) -> anyhow::Result<()> {
    let mut w = weights_writer(cfg, shape, params)?;
    for (name, (m, v)) in &adam.moments {
        for (kind, t) in [("m", m), ("v", v)] {
            let data: Vec<f64> = t
                .flatten_all()
                .and_then(|t| t.to_dtype(candle_core::DType::F64))
                .and_then(|t| t.to_vec1())
                .map_err(cerr)?;
            w.tensor(format!("adam.{kind}.{name}"), t.dims().to_vec(), &data);
        }
    }
    w.meta("ccsep.train.step", st.step);
    w.meta("ccsep.train.adam_t", adam.t);
    w.meta("ccsep.train.best_accuracy", st.best_accuracy);
    w.meta("ccsep.train.best_step", st.best_step);
    w.meta("ccsep.train.final_accuracy", st.final_accuracy);
    w.meta("ccsep.train.evals", st.evals);
    write_whole(&w, path)
}

/// Writes a file whole, then renames it into place: an interrupted write never leaves half a
/// weights file or checkpoint.
fn write_whole(w: &TensorWriter, path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    w.write(&tmp)?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("could not move '{}' to '{}'", tmp.display(), path.display()))
}

fn load_checkpoint(
    path: &Path,
    cfg: &TrainConfig,
    shape: &NetShape,
) -> Result<(Params, Adam, State), InputError> {
    let t = Tensors::read(path)?;
    let saved: TrainConfig = t
        .meta("ccsep.train")
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| {
            InputError::new(format!(
                "'{}' is not a ccsep training checkpoint (no ccsep.train metadata)",
                path.display()
            ))
        })?;
    let mut same = saved.clone();
    same.steps = cfg.steps;
    if &same != cfg {
        return Err(InputError::new(format!(
            "'{}' was written by a run with another config (only --steps may change on --resume): saved {}, given {}",
            path.display(),
            serde_json::to_string(&saved).unwrap_or_default(),
            serde_json::to_string(cfg).unwrap_or_default()
        )));
    }
    let params = Params::from_tensors(shape, &t)?;
    let mut adam = Adam::new(cfg.optimizer, cfg.weight_decay, &params)
        .map_err(|e| InputError::new(e.to_string()))?;
    for (name, (m, v)) in adam.moments.iter_mut() {
        for (kind, slot) in [("m", m), ("v", v)] {
            let dims = slot.dims().to_vec();
            let data: Vec<f32> = t
                .get(&format!("adam.{kind}.{name}"), &dims)?
                .iter()
                .map(|&x| x as f32)
                .collect();
            *slot = Tensor::from_vec(data, dims.as_slice(), &candle_core::Device::Cpu)
                .map_err(|e| InputError::new(e.to_string()))?;
        }
    }
    let bad = |k: &str, why: &str| {
        InputError::new(format!(
            "checkpoint '{}': ccsep.train.{k} {why}; the file is damaged or was not written by ccsep train (start the run again without --resume)",
            path.display()
        ))
    };
    let int = |k: &str| -> Result<u64, InputError> {
        t.meta_parse::<u64>(&format!("ccsep.train.{k}"))
            .map_err(|_| bad(k, "is not a whole number"))?
            .ok_or_else(|| bad(k, "is missing"))
    };
    let frac = |k: &str| -> Result<f64, InputError> {
        let v = t
            .meta_parse::<f64>(&format!("ccsep.train.{k}"))
            .map_err(|_| bad(k, "is not a number"))?
            .ok_or_else(|| bad(k, "is missing"))?;
        // −1: no evaluation yet.
        if v == -1.0 || (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(bad(k, &format!("is {v}, not an accuracy")))
        }
    };
    let step = int("step")?;
    adam.t = int("adam_t")?;
    if adam.t != step {
        return Err(bad(
            "adam_t",
            &format!(
                "is {}, but the run took {step} steps (one update each)",
                adam.t
            ),
        ));
    }
    let st = State {
        step,
        best_accuracy: frac("best_accuracy")?,
        best_step: int("best_step")?,
        final_accuracy: frac("final_accuracy")?.max(0.0),
        evals: int("evals")?,
    };
    if st.best_step > step || st.evals > 2 * (step / cfg.eval_every + 1) {
        return Err(bad(
            "evals",
            &format!("or best_step does not fit {step} steps"),
        ));
    }
    if step > cfg.steps {
        return Err(InputError::new(format!(
            "checkpoint '{}' is at step {step}, past --steps {}: give --steps above {step} to continue",
            path.display(),
            cfg.steps
        )));
    }
    Ok((params, adam, st))
}

/// Runs one training run to its end.
pub fn train(cfg: &TrainConfig, opts: &RunOptions) -> anyhow::Result<RunRecord> {
    let (task, shape) = prepare(cfg)?;
    let start = Instant::now();
    let ckpt = opts.out.as_deref().map(checkpoint_path);
    let (params, mut adam, mut st, resumed_from) = match (&ckpt, opts.resume) {
        (Some(c), true) => {
            let (p, a, s) = load_checkpoint(c, cfg, &shape)?;
            let from = s.step;
            (p, a, s, Some(from))
        }
        (None, true) => {
            return Err(InputError::new(
                "--resume needs the run's --out (its checkpoint is <out>.ckpt)",
            )
            .into());
        }
        _ => {
            let p = Params::init(&shape, cfg.seed)?;
            let a = Adam::new(cfg.optimizer, cfg.weight_decay, &p)?;
            (
                p,
                a,
                State {
                    step: 0,
                    best_accuracy: -1.0,
                    best_step: 0,
                    final_accuracy: 0.0,
                    evals: 0,
                },
                None,
            )
        }
    };
    let bar = progress_bar(opts.progress, cfg);
    bar.set_position(st.step);
    let first_step = st.step;
    let mut status = Status::Completed;
    let mut final_loss = f64::NAN;
    // A resumed run's best weights were written at its first evaluation, if it had one.
    let mut saved_best =
        resumed_from.is_some() && st.evals > 0 && opts.out.as_deref().is_some_and(Path::exists);
    while st.step < cfg.steps {
        if opts
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
        {
            status = Status::Interrupted;
            break;
        }
        let batch = batch(
            &task,
            Stream::Train,
            cfg.seed,
            st.step,
            cfg.batch,
            shape.length,
        )?;
        let (loss, _) = loss_and_logits(&shape, &params, &batch).map_err(cerr)?;
        let l = f64::from(loss.to_scalar::<f32>().map_err(cerr)?);
        final_loss = l;
        if !l.is_finite() {
            status = Status::Diverged;
            break;
        }
        let store = loss.backward().map_err(cerr)?;
        let (grads, norm) = gradients(&params, &store, cfg.clip)?;
        if !norm.is_finite() {
            status = Status::Diverged;
            break;
        }
        let lr = learning_rate(cfg.lr, st.step, cfg.steps, cfg.warmup, cfg.decay);
        adam.step(&params, &grads, lr)?;
        st.step += 1;
        bar.set_position(st.step);
        if st.step.is_multiple_of(cfg.eval_every) || st.step == cfg.steps {
            let acc = evaluate(cfg, &task, &shape, &params, st.evals)?;
            st.evals += 1;
            st.final_accuracy = acc;
            if acc > st.best_accuracy {
                st.best_accuracy = acc;
                st.best_step = st.step;
                if let Some(out) = &opts.out {
                    write_whole(&weights_writer(cfg, &shape, &params)?, out)?;
                    saved_best = true;
                }
            }
            if let Some(c) = &ckpt {
                save_checkpoint(c, cfg, &shape, &params, &adam, &st)?;
            }
            bar.set_message(format!(
                "loss {l:.4}  accuracy {acc:.3}  best {:.3}",
                st.best_accuracy
            ));
            if acc >= cfg.target {
                // One evaluation can be lucky: the target counts as reached only when a second,
                // fresh draw of examples confirms it.
                let again = evaluate(cfg, &task, &shape, &params, st.evals)?;
                st.evals += 1;
                st.final_accuracy = again;
                if again >= cfg.target {
                    status = Status::Reached;
                    break;
                }
            }
        } else if st.step.is_multiple_of(10) {
            bar.set_message(format!(
                "loss {l:.4}  best accuracy {:.3}",
                st.best_accuracy.max(0.0)
            ));
        }
    }
    if status == Status::Interrupted
        && let Some(c) = &ckpt
    {
        save_checkpoint(c, cfg, &shape, &params, &adam, &st)?;
    }
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    let done = st.step - first_step;
    Ok(RunRecord {
        config: cfg.clone(),
        seed: cfg.seed,
        status,
        steps: st.step,
        wall_s: wall,
        steps_per_s: if wall > 0.0 { done as f64 / wall } else { 0.0 },
        parameters: shape.parameter_count(),
        best_accuracy: st.best_accuracy.max(0.0),
        best_step: st.best_step,
        final_accuracy: st.final_accuracy,
        final_loss,
        weights: opts
            .out
            .as_ref()
            .filter(|_| saved_best)
            .map(|p| p.display().to_string()),
        resumed_from,
    })
}

fn progress_bar(show: bool, cfg: &TrainConfig) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(
        Some(cfg.steps),
        if show {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} steps  {msg}  ({elapsed}, eta {eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!(
        "{} {} n={} width {}",
        cfg.arch, cfg.task, cfg.n, cfg.width
    ));
    bar
}
