//! The command line: `clap` definitions, turned into typed requests and run. Nothing else in the
//! crate knows about the command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app;
use crate::app::cc::CcRequest;
use crate::app::check::{CheckRequest, SizesGiven};
use crate::app::construct::{ConstructRequest, Gamma, Ui};
use crate::app::run::{RunFiles, RunRequest};
use crate::construct::{Construction, Progress};
use crate::error::{EXIT_CHECK_FAILED, EXIT_OK, InputError, Setting};
use crate::measures::Limits;
use crate::model::{Arch, Nonlinearity};
use crate::numeric::{Accumulate, Precision, Rounding};
use crate::problem::DEFAULT_MAX_MEMORY;
use crate::report::{Format, Report, Tabular};
use crate::task::{self, EqVariant, TaskOptions};

/// The command line's spelling of a setting a library message names: its flag (`--max-work`).
/// `main` renders errors with it, and `app` the messages it writes itself (grid lines, `verify`
/// verdicts).
pub fn flag(setting: Setting) -> String {
    format!("--{}", setting.name())
}

/// Writes `bytes` to standard output: a failed write (a full disk, a closed descriptor) is an
/// error with context instead of `print!`'s panic, and a reader that went away (a closed pipe,
/// as in `ccsep … | head`) ends the run quietly.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(EXIT_OK),
        Err(e) => Err(anyhow::Error::new(e).context("could not write to standard output")),
    }
}

/// Prints a result in `format` to standard output.
fn print(report: &(impl Report + ?Sized), format: Format) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    report
        .render(format, &mut buf)
        .expect("writing to memory does not fail");
    write_stdout(&buf)
}

/// Prints a result that has tables in `format` (CSV and LaTeX too); LaTeX names the command
/// line that made it.
fn print_result(result: &(impl Tabular + ?Sized), format: Format) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    crate::report::render(result, format, &command_line(), &mut buf)
        .expect("writing to memory does not fail");
    write_stdout(&buf)
}

/// This process's command line as a shell would take it back (`ccsep check --n 3 …`), for
/// LaTeX's comment line.
fn command_line() -> String {
    let quoted = std::env::args_os().skip(1).map(|a| {
        let a = a.to_string_lossy().into_owned();
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:,=+@%".contains(c));
        if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        }
    });
    std::iter::once("ccsep".to_string())
        .chain(quoted)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--format`'s values.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    clap::builder::PossibleValuesParser::new(["table", "json", "csv", "latex"]).map(|s| {
        match s.as_str() {
            "json" => Format::Json,
            "csv" => Format::Csv,
            "latex" => Format::Latex,
            _ => Format::Table,
        }
    })
}

/// The format a command prints in: `--format`, else JSON with `--json`, else `default`.
fn output_format(json: bool, format: Option<Format>, default: Format) -> Format {
    match (format, json) {
        (Some(f), _) => f,
        (None, true) => Format::Json,
        (None, false) => default,
    }
}

/// Prints one JSON line (of a grid or a curve) to standard output.
fn print_line(line: &serde_json::Value) -> anyhow::Result<()> {
    write_stdout(format!("{line}\n").as_bytes())
}

#[derive(Parser, Debug)]
#[command(
    name = "ccsep",
    version,
    about = "Communication-complexity separations between Transformers and recurrent networks, run and checked exhaustively"
)]
pub struct Cli {
    /// Worker threads (default: all cores; at most 4 × the cores, more is refused). Results do
    /// not depend on it.
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every communication-complexity measure of a problem, with the bounds on D side by side.
    Cc(CcArgs),
    /// Check certificates without the search that made them.
    Verify(VerifyArgs),
    /// Run a model at a precision on one input sequence; print its states and outputs per step.
    Run(RunArgs),
    /// Run a model as the protocol it induces on every instance: messages, accuracy, the bound,
    /// and a witness where it must fail.
    Check(CheckArgs),
    /// The paper's sequence tasks: sample examples with their labels.
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Build one of the paper's constructions as a model, verify it at a precision, report its
    /// size; or its size curve over N = 2^A .. 2^B.
    Construct(ConstructArgs),
    /// Train a network on a task (candle, CPU, reproducible): one run, or the smallest width
    /// that learns it (--widths); one JSON line per run (--format: a table at the end).
    Train(Box<TrainArgs>),
    /// Draw a figure (SVG, PNG and its data as CSV) from result files.
    Plot(PlotArgs),
    /// Every check, construction, training run and figure of the paper's comparisons, and
    /// REPORT.md with the command that made each (--quick: small sizes, a few minutes).
    Paper(PaperArgs),
    /// Guided walk-throughs for a class, computed as they run (no name: list them).
    Demo(DemoArgs),
}

/// `ccsep paper [--quick] [--out DIR] [--list]`.
#[derive(Args, Debug)]
pub struct PaperArgs {
    /// Small sizes: everything in a few minutes on two cores (what plots/quick/ holds).
    #[arg(long)]
    pub quick: bool,
    /// Folder of the report, its result files and figures [default: plots/quick with --quick,
    /// plots without].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the commands the report would run, one a line, and run nothing.
    #[arg(long)]
    pub list: bool,
}

/// `ccsep demo [NAME]`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// pigeonhole, fooling, rank, protocol, dyck or index-lookup (none: list them).
    #[arg(value_parser = parse_demo)]
    pub name: Option<crate::demo::Demo>,
    /// List the demos with one line each.
    #[arg(long, conflicts_with = "name")]
    pub list: bool,
    /// The size shown (each demo's range is in the list; larger is refused as unreadable).
    #[arg(long)]
    pub n: Option<u32>,
    /// Alice's input the protocol demo follows.
    #[arg(long)]
    pub x: Option<u64>,
    /// Bob's input the protocol demo follows.
    #[arg(long)]
    pub y: Option<u64>,
    /// Add the answer to the closing question.
    #[arg(long)]
    pub answers: bool,
    /// Run straight through instead of waiting for Enter between steps (the default when
    /// standard input or output is not a terminal).
    #[arg(long)]
    pub no_pause: bool,
    /// No colour (also when NO_COLOR is set, or standard output is not a terminal).
    #[arg(long)]
    pub no_color: bool,
    /// Write the walk-through as a Markdown handout to FILE instead of showing it.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write the demo's collision witness (pigeonhole, dyck) for `ccsep verify`.
    #[arg(long, value_name = "FILE")]
    pub witness_out: Option<PathBuf>,
}

/// `ccsep plot FIGURE --data FILE... --out DIR`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// The figure: separation (bits against N, log-log, from `construct --curve --out` files;
    /// with `check --precision A..B --json` output among them, each swept model's smallest
    /// correct m·p), check-grid (accuracy over width × p with the verdicts and the m·p bound,
    /// from `check --width A..B --precision P1..P2 --out` files), messages (distinct messages
    /// against N beside 2^N and 2^(m·p); lines at several N come from runs `check --n K --out
    /// FILE` appending to one file), trained (best accuracy over N × width per task and
    /// architecture, from `train` JSON lines);
    /// matrix (a matrix of at most 128 x 128 with a fooling set, partition or cover
    /// over it, from the fooling_set_*.json, partition.json or cover_*.json that `cc PROBLEM
    /// --n N --certify DIR` writes); protocol-tree (the protocol.json of `cc --certify`, at most
    /// 32 leaves); codes (code length against N per family beside Hoeffding's bound, from
    /// `construct vectors --n N --json` reports, one per N, in one file or several). Figures
    /// check only that a certificate fits its matrix; `ccsep verify` checks the certificate.
    pub figure: String,
    /// Result files to draw from.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Folder the figure's files go to.
    #[arg(long, value_name = "DIR", default_value = "plots")]
    pub out: PathBuf,
}

/// The token tasks' settings beyond `--n` (`tasks sample`, `train`); `None` takes the task's
/// default, and a setting the task does not use is refused.
#[derive(Args, Debug)]
pub struct TaskArgs {
    /// Alphabet size (index, equality).
    #[arg(long)]
    pub alphabet: Option<usize>,
    /// Bracket types k (dyck).
    #[arg(long)]
    pub types: Option<usize>,
    /// Depth bound m (dyck).
    #[arg(long)]
    pub depth: Option<usize>,
    /// Distinct keys (recall).
    #[arg(long)]
    pub keys: Option<usize>,
    /// Distinct values (recall).
    #[arg(long)]
    pub values: Option<usize>,
    /// Queries (recall).
    #[arg(long)]
    pub queries: Option<usize>,
    /// random, one or copy (equality).
    #[arg(long, value_parser = str::parse::<EqVariant>)]
    pub variant: Option<EqVariant>,
}

impl TaskArgs {
    /// These settings as the task module takes them (nearest neighbour's `dim`, `margin` apart).
    fn task_options(&self) -> TaskOptions {
        TaskOptions {
            alphabet: self.alphabet,
            types: self.types,
            depth: self.depth,
            keys: self.keys,
            values: self.values,
            queries: self.queries,
            variant: self.variant,
            dim: None,
            margin: None,
        }
    }
}

/// `ccsep train`: every setting may come from `--config FILE.toml` (the same names, `_` for
/// `-`); a flag given on the command line wins over the file.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// A TOML file with the run's settings (keys as the flags, e.g. `eval_every = 100`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// index, dyck, equality (eq), recall (mqar with --queries > 1), disjointness (disj). Index
    /// lookup trains on --alphabet 2 unless told (the INDEX instances `check` runs).
    #[arg(long)]
    pub task: Option<String>,
    /// The task's length parameter (as `ccsep tasks sample --n`).
    #[arg(long)]
    pub n: Option<usize>,
    /// rnn, lstm, gru, ssm, linear-attention or transformer.
    #[arg(long)]
    pub arch: Option<String>,
    /// Hidden size (state size for ssm, d_model for transformer) [default: 32].
    #[arg(long)]
    pub width: Option<usize>,
    /// Layers (rnn / lstm / gru / transformer) [default: 1].
    #[arg(long)]
    pub layers: Option<usize>,
    /// Transformer heads (must divide --width) [default: 1].
    #[arg(long)]
    pub heads: Option<usize>,
    /// Embedding size [default: --width].
    #[arg(long)]
    pub embed: Option<usize>,
    /// Transformer MLP width as a multiple of --width; 0: no MLP [default: 4].
    #[arg(long)]
    pub ff: Option<usize>,
    /// Elman RNN activation: tanh or relu [default: tanh].
    #[arg(long)]
    pub nonlinearity: Option<String>,
    #[command(flatten)]
    pub options: TaskArgs,
    /// Seed of the initialisation and of the batches [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// adam or adamw [default: adamw].
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Peak learning rate [default: 0.001].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Weight decay (AdamW: decoupled; Adam: L2) [default: 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Linear warm-up steps [default: 0].
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Learning-rate decay after the warm-up: none, linear or cosine [default: cosine].
    #[arg(long)]
    pub decay: Option<String>,
    /// Examples per step [default: 64].
    #[arg(long)]
    pub batch: Option<usize>,
    /// Optimiser steps at most [default: 2000].
    #[arg(long)]
    pub steps: Option<u64>,
    /// Stop when the validation accuracy reaches this [default: 1.0].
    #[arg(long)]
    pub target: Option<f64>,
    /// Evaluate every this many steps [default: 100].
    #[arg(long)]
    pub eval_every: Option<u64>,
    /// Fresh examples per evaluation [default: 512].
    #[arg(long)]
    pub eval_size: Option<usize>,
    /// Clip the gradient's global norm to this; 0: off [default: 1.0].
    #[arg(long)]
    pub clip: Option<f64>,
    /// Where the best weights go (a checkpoint is kept beside it, FILE.ckpt)
    /// [default: ARCH-TASK-nN-wWIDTH-sSEED.safetensors].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Continue the run from FILE.ckpt (same settings; --steps may grow).
    #[arg(long)]
    pub resume: bool,
    /// Search the smallest width reaching --target: these widths (e.g. 2,4,8,16), each with
    /// every --lrs and --seeds; runs in parallel (--threads at a time, one thread each).
    #[arg(long, value_delimiter = ',')]
    pub widths: Option<Vec<usize>>,
    /// Learning rates of a width search [default: 0.001,0.003,0.01].
    #[arg(long, value_delimiter = ',')]
    pub lrs: Option<Vec<f64>>,
    /// Seeds of a width search [default: 0,1,2].
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// What is printed: json (default: one JSON line per run as it finishes, then a width
    /// search's `"kind": "min_width"` line), or table, csv or latex (the runs as a table at the
    /// end, then a search's answer; wall time and speed are in JSON only).
    #[arg(long, value_parser = format_parser(), conflicts_with = "preset")]
    pub format: Option<Format>,
    /// Run a named set of width searches instead: paper-small (the paper's comparisons at CPU
    /// scale, about 30 minutes on 2 cores). Each search's JSON lines go to DIR/NAME.jsonl; a
    /// rerun skips the searches already finished there.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["config", "task", "n", "arch", "widths", "out", "resume"])]
    pub preset: Option<String>,
    /// Folder of a preset's files.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "plots/data",
        requires = "preset"
    )]
    pub out_dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// rnn, lstm, gru, ssm, linear-attention or transformer.
    #[arg(long, value_parser = parse_arch)]
    pub arch: Arch,
    /// Weights in safetensors: a PyTorch state dict (rnn / lstm / gru, nn.TransformerEncoder)
    /// or the ccsep scheme; an embedding table and a head are found by role (see --names).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// Number format: fixed:I.F, paper:K, float:E.M, e4m3, e5m2, bf16, f16, f32, f64.
    #[arg(long, default_value = "f32", value_parser = parse_precision)]
    pub precision: Precision,
    /// Rounding mode: nearest-even or down (default: nearest-even; down for paper:K).
    #[arg(long, value_parser = parse_rounding)]
    pub rounding: Option<Rounding>,
    /// Dot products: wide (sum in f64, round once) or format (round every step).
    #[arg(long, default_value = "wide", value_parser = parse_accumulate)]
    pub accumulate: Accumulate,
    /// A JSON list of input vectors, one per step.
    #[arg(long, value_name = "FILE")]
    pub inputs: PathBuf,
    /// Prefix of the tensor names (found automatically when unique).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Elman RNN activation: tanh or relu (default: the file's metadata, else tanh).
    #[arg(long, value_parser = Nonlinearity::parse)]
    pub nonlinearity: Option<Nonlinearity>,
    /// Transformer heads (default: the file's metadata).
    #[arg(long)]
    pub heads: Option<usize>,
    /// Which tensors of the weights file play which role, and what a state dict does not
    /// record: ROLE=VALUE items, comma separated. Roles: embedding, head, pos (a module, e.g.
    /// `cls` for cls.weight, or none), layers (the layers' prefix); settings: heads=H,
    /// norm-first=true|false, activation=relu|gelu, causal=true|false, nonlinearity=tanh|relu.
    /// Example: embedding=enc.tok,head=cls.
    #[arg(long, value_name = "LIST")]
    pub names: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// index, recall, equality (eq, ineq), mqar, disjointness (disj), dyck (Dyck-(2,2), odd /
    /// even split: transformer only) or dyck-halves (first / second half). With --construct,
    /// the task it is built for unless given.
    #[arg(long, required_unless_present = "construct")]
    pub task: Option<String>,
    /// rnn, lstm, gru, ssm, linear-attention (prefix / suffix protocol, Thm 2) or transformer
    /// (one layer, any partition: the Thm 4 protocol). Not with --construct.
    #[arg(
        long,
        required_unless_present = "construct",
        conflicts_with = "construct",
        value_parser = parse_arch
    )]
    pub arch: Option<Arch>,
    /// Hidden size (state size for ssm, d_model for transformer) of a random model: a number,
    /// or a grid axis `1..16` / `2,4,8` (one row, or JSON line, per point).
    #[arg(long, default_value = "2")]
    pub width: String,
    /// Layers of a random rnn / lstm / gru.
    #[arg(long, default_value_t = 1)]
    pub layers: usize,
    /// Heads of a random transformer (default 1).
    #[arg(long)]
    pub heads: Option<usize>,
    /// Output numbers of a random model's head (1: answer = out > 0; 2: argmax).
    #[arg(long, default_value_t = 1)]
    pub outputs: usize,
    /// Number format (fixed:I.F, paper:K, float:E.M, e4m3, e5m2, bf16, f16, f32, f64), or a grid
    /// axis: a comma list, or a range in one family with one parameter growing
    /// (fixed:1.1..fixed:1.7, float:8.1..float:8.23, paper:1..paper:4). Several precisions make
    /// a precision sweep: one row (JSON line) per point, then the smallest p (bits per number)
    /// from which the model stays correct, its m·p beside the bound. With --construct, the
    /// precision `ccsep construct` reports for it unless given.
    #[arg(long, required_unless_present = "construct")]
    pub precision: Option<String>,
    /// Bits per party (INDEX, EQ, DISJ), or the string length (dyck, dyck-halves).
    #[arg(long)]
    pub n: u32,
    /// random (with --seed); omit with --weights.
    #[arg(long, conflicts_with = "weights")]
    pub init: Option<String>,
    /// One of the paper's constructions, built at --n (see `ccsep construct`).
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with_all = ["weights", "init"],
        value_parser = parse_construction
    )]
    pub construct: Option<Construction>,
    /// Seed of the random model and of the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weights in safetensors: a PyTorch state dict (rnn / lstm / gru, nn.TransformerEncoder)
    /// or the ccsep scheme; an embedding table and a head are found by role (see --names).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Which tensors of the weights file play which role, and what a state dict does not
    /// record: ROLE=VALUE items, comma separated. Roles: embedding, head, pos (a module, e.g.
    /// `cls` for cls.weight, or none), layers (the layers' prefix); settings: heads=H,
    /// norm-first=true|false, activation=relu|gelu, causal=true|false, nonlinearity=tanh|relu.
    /// Example: embedding=enc.tok,head=cls.
    #[arg(long, value_name = "LIST", requires = "weights")]
    pub names: Option<String>,
    /// Check K seeded Alice inputs (against every Bob input) instead of all.
    #[arg(long, value_name = "K")]
    pub sample: Option<u64>,
    /// Append a grid's JSON lines to this file; a rerun skips the points already there.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the witness (if any) to this file for `ccsep verify`.
    #[arg(long, value_name = "FILE")]
    pub witness_out: Option<PathBuf>,
    /// Print JSON instead of a table (a grid: one line per point, then a precision sweep's
    /// summary line, `"kind": "precision_sweep_summary"`); the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// table (default), json, csv or latex (a booktabs tabular). A grid prints its points (and
    /// its sweeps' answers) as one table at the end; its JSON lines still go to --out.
    #[arg(long, value_parser = format_parser(), conflicts_with = "json")]
    pub format: Option<Format>,
    /// Which random-model sizes were given on the command line (filled by [`parse`]).
    #[arg(skip)]
    pub given: SizesGiven,
}

#[derive(Args, Debug)]
pub struct ConstructArgs {
    /// vectors, index-lookup, equality, disjointness, nearest, dyck-rnn or index-rnn.
    #[arg(value_parser = parse_construction)]
    pub name: Construction,
    /// The length N (symbols, bits per party, string length, or vectors).
    #[arg(long)]
    pub n: Option<usize>,
    /// The precision to verify at (default: the construction's own — the one its derivation
    /// gives, or the smallest it finds correct; the report says which).
    #[arg(long)]
    pub precision: Option<String>,
    /// Margin of the nearly orthogonal codes: every |<T_i, T_j>| <= gamma (default 0.25; vectors,
    /// index-lookup, equality and disjointness: the others have no such codes).
    #[arg(long, value_parser = parse_gamma)]
    pub gamma: Option<Gamma>,
    /// Seed of random codes and random test instances.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Random instances checked on top of the worst cases when N is too large to be exhaustive.
    #[arg(long, default_value_t = 1000)]
    pub samples: u64,
    /// Write the model's weights (safetensors) for `ccsep run` / `ccsep check --weights`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Size curve instead: the smallest correct size at N = 2^A .. 2^B, one JSON line each.
    #[arg(long, value_name = "A..B", conflicts_with_all = ["n", "save"])]
    pub curve: Option<String>,
    /// Append the curve's JSON lines to this file; a rerun skips the lengths already there.
    #[arg(long, value_name = "FILE", requires = "curve")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of a table; the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// table, json, csv or latex (a booktabs tabular) [default: table; json (a line per length)
    /// with --curve]. A curve in another format prints its lengths as one table at the end;
    /// its JSON lines still go to --out.
    #[arg(long, value_parser = format_parser(), conflicts_with = "json")]
    pub format: Option<Format>,
    /// The most work a verification may cost before it is refused, in the construction's
    /// operations (default 1e12, about 11 minutes on two cores, for equality, disjointness and
    /// nearest; 2e12 multiply-adds, a few minutes, for index-lookup). Raise it to verify larger
    /// N on a larger machine.
    #[arg(long, value_name = "OPS")]
    pub max_work: Option<f64>,
    /// Print each step of a long build or size search (each trial: what, outcome, seconds) to
    /// stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

#[derive(Subcommand, Debug)]
pub enum TasksCommand {
    /// Print seeded examples of a task with their labels.
    Sample(SampleArgs),
    /// Lemma 1 by brute force: for every even N up to --n, every string of ( ) [ ] of length N
    /// is tested; the strings of Dyck-(2,2) must number 2^(N−1), and their odd halves must be
    /// pairwise distinct and so must their even halves (each half fixes the other). Exit code 1
    /// if a check fails.
    DyckBijection(DyckBijectionArgs),
    /// Thm 8's premise: the unit vectors the reduction from DISJ_n feeds nearest neighbour
    /// (distinct ±1/√d sign vectors) meet the task's margin γ, computed exactly, and the task's
    /// own label answers every query with the queried point's label. Exit code 1 if not.
    NearestMargin(NearestMarginArgs),
}

#[derive(Args, Debug)]
pub struct DyckBijectionArgs {
    /// Check every even string length 2, 4, …, N (at most 14).
    #[arg(long)]
    pub n: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct NearestMarginArgs {
    /// Labelled points n (each party's bits in DISJ_n), 2 … 4096, at most 2^d.
    #[arg(long)]
    pub n: usize,
    /// Dimension d of the unit vectors (the nearest task's default).
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// Margin γ the task asks for (the nearest task's default).
    #[arg(long, default_value_t = 0.1)]
    pub margin: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// index, recall, dyck, equality, disjointness or nearest.
    #[arg(long)]
    pub task: String,
    /// Length: symbols (index, equality, disjointness), key-value pairs (recall), string length
    /// (dyck), labelled points (nearest).
    #[arg(long)]
    pub n: usize,
    /// How many examples.
    #[arg(long, default_value_t = 5)]
    pub count: usize,
    /// Seed: the same seed prints the same examples, whatever the thread count.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub options: TaskArgs,
    /// Dimension of the unit vectors (nearest).
    #[arg(long)]
    pub dim: Option<usize>,
    /// Margin gamma (nearest).
    #[arg(long)]
    pub margin: Option<f64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CcArgs {
    /// index, eq, disj, gt or ip (omit with --matrix).
    pub problem: Option<String>,
    /// Input length in bits.
    #[arg(long)]
    pub n: Option<u32>,
    /// A 0/1 matrix file: one row per line, spaces ignored, `#` comments.
    #[arg(long, conflicts_with_all = ["problem", "n"])]
    pub matrix: Option<PathBuf>,
    /// Write certificates (JSON, and the protocol tree as DOT) into this directory.
    #[arg(long, value_name = "DIR")]
    pub certify: Option<PathBuf>,
    /// Print one JSON object instead of the table; the same as --format json.
    #[arg(long)]
    pub json: bool,
    /// table (default), json, csv or latex (a booktabs tabular). CSV and LaTeX hold the
    /// measures and the bounds on D (CSV: one document, its `section` column names which).
    #[arg(long, value_parser = format_parser(), conflicts_with = "json")]
    pub format: Option<Format>,
    /// Refuse matrices that need more memory than this many bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_MEMORY, value_name = "BYTES")]
    pub max_memory: u64,
    /// Node budget of each branch-and-bound search.
    #[arg(long, default_value_t = Limits::default().search_nodes)]
    pub search_nodes: u64,
    /// Most entries of one value for the maximum fooling-set search.
    #[arg(long, default_value_t = Limits::default().fooling_max_entries)]
    pub fooling_entries: u64,
    /// Most distinct cells for partition and cover numbers.
    #[arg(long, default_value_t = Limits::default().rectangle_max_cells)]
    pub rectangle_cells: u64,
    /// Most distinct rows / columns for the protocol-tree search (at most 64).
    #[arg(long, default_value_t = Limits::default().protocol_max_classes,
          value_parser = clap::value_parser!(u16).range(1..=64).map(usize::from))]
    pub protocol_classes: usize,
    /// Most entries (distinct rows x columns) for the exact rational rank.
    #[arg(long, default_value_t = Limits::default().rational_max_entries)]
    pub rational_entries: u64,
    /// Most word operations for the GF(2) ranks: distinct rows x ceil(columns / 64) x
    /// ceil(min(distinct rows, columns) / 64) (EQ_14 takes 1.1e9, a few seconds on two cores;
    /// EQ_15 8.6e9). Over it the ranks are not computed.
    #[arg(long, default_value_t = Limits::default().gf2_max_work, value_name = "OPS")]
    pub gf2_work: u64,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Certificate files written by `ccsep cc --certify`, or witness files written by
    /// `ccsep check --witness-out` (told apart by their keys).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Refuse a file whose check needs more memory than this many bytes (the matrix a
    /// certificate is about, with the checker's working copies; a witness's model).
    #[arg(long, default_value_t = DEFAULT_MAX_MEMORY, value_name = "BYTES")]
    pub max_memory: u64,
}

/// Parses the process's command line, noting which flags were given (not defaulted).
pub fn parse() -> Result<Cli, clap::Error> {
    let matches = Cli::command().try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Command::Check(args), Some(m)) = (&mut cli.command, matches.subcommand_matches("check"))
    {
        args.given = sizes_given(m);
    }
    Ok(cli)
}

/// Which random-model sizes a `check` command line gave.
fn sizes_given(m: &ArgMatches) -> SizesGiven {
    let given = |id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
    SizesGiven {
        width: given("width"),
        layers: given("layers"),
        outputs: given("outputs"),
        heads: given("heads"),
    }
}

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Some(t) = cli.threads {
        check_threads(t)?;
        rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(t))
            .build_global()
            .context("could not start the thread pool")?;
    }
    match cli.command {
        Command::Cc(args) => run_cc(&args),
        Command::Verify(args) => run_verify(&args),
        Command::Run(args) => run_model(&args),
        Command::Check(args) => run_check(&args),
        Command::Tasks(TasksCommand::Sample(args)) => run_sample(&args),
        Command::Tasks(TasksCommand::DyckBijection(args)) => run_dyck_bijection(&args),
        Command::Tasks(TasksCommand::NearestMargin(args)) => run_nearest_margin(&args),
        Command::Construct(args) => run_construct(&args),
        Command::Train(args) => run_train(&args, cli.threads),
        Command::Plot(args) => run_plot(&args),
        Command::Paper(args) => run_paper(&args, cli.threads),
        Command::Demo(args) => crate::demo::run(&crate::demo::DemoRequest {
            demo: args.name,
            n: args.n,
            x: args.x,
            y: args.y,
            answers: args.answers,
            no_pause: args.no_pause,
            no_color: args.no_color,
            markdown: args.markdown,
            witness_out: args.witness_out,
            spell: flag,
        }),
    }
}

/// The training config of a command line: the `--config` file's, then every flag given.
fn train_config(a: &TrainArgs) -> anyhow::Result<crate::train::TrainConfig> {
    use crate::train::TrainConfig;
    let mut c = match &a.config {
        Some(path) => {
            let bytes = crate::input::read_bytes(
                path,
                "config file",
                1 << 20,
                "a training config is a short TOML file",
            )?;
            let text = String::from_utf8(bytes).map_err(|_| {
                InputError::new(format!(
                    "config file '{}' is not UTF-8 text",
                    path.display()
                ))
            })?;
            TrainConfig::from_toml(&text, &format!("'{}'", path.display()))?
        }
        None => {
            let missing: Vec<&str> = [
                ("--task", a.task.is_none()),
                ("--n", a.n.is_none()),
                ("--arch", a.arch.is_none()),
            ]
            .iter()
            .filter(|(_, m)| *m)
            .map(|(f, _)| *f)
            .collect();
            if !missing.is_empty() {
                return Err(InputError::new(format!(
                    "ccsep train needs {} (or a --config file that sets them)",
                    missing.join(", ")
                ))
                .into());
            }
            TrainConfig::new("", 0, "")
        }
    };
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = &a.$f { c.$f = v.clone(); } )* };
    }
    macro_rules! set_opt {
        ($($f:ident),*) => { $( if let Some(v) = &a.$f { c.$f = Some(v.clone()); } )* };
    }
    set!(
        task,
        n,
        arch,
        width,
        layers,
        heads,
        ff,
        nonlinearity,
        seed,
        lr,
        weight_decay,
        warmup
    );
    set!(batch, steps, target, eval_every, eval_size, clip);
    set_opt!(embed);
    // A flag given wins over the file.
    let t = &a.options;
    c.alphabet = t.alphabet.or(c.alphabet);
    c.types = t.types.or(c.types);
    c.depth = t.depth.or(c.depth);
    c.keys = t.keys.or(c.keys);
    c.values = t.values.or(c.values);
    c.queries = t.queries.or(c.queries);
    c.variant = t.variant.or(c.variant);
    if let Some(o) = &a.optimizer {
        c.optimizer = serde_json::from_value(serde_json::Value::String(o.clone()))
            .map_err(|_| InputError::new(format!("--optimizer {o:?}: use adam or adamw")))?;
    }
    if let Some(d) = &a.decay {
        c.decay = serde_json::from_value(serde_json::Value::String(d.clone()))
            .map_err(|_| InputError::new(format!("--decay {d:?}: use none, linear or cosine")))?;
    }
    Ok(c)
}

/// What every `ccsep train` command sets up first: one thread per run (candle's matrix products
/// read RAYON_NUM_THREADS on every call, and models this small run no faster split; a width
/// search runs its runs in parallel instead), and Ctrl-C setting the flag returned, which a run
/// reads at every step (keeping its best weights) and a search or preset between runs.
fn start_training() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    // SAFETY: set before the Ctrl-C handler's thread starts and before any run; the only other
    // threads that can exist are idle rayon workers (`--threads`), which read no environment.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed));
    stop
}

fn run_train(a: &TrainArgs, threads: Option<u16>) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let jobs = threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let stop = start_training();
    if let Some(name) = &a.preset {
        return run_preset(name, &a.out_dir, jobs, stop);
    }
    let config = train_config(a)?;
    crate::train::run::prepare(&config)?;
    if a.widths.is_none() && (a.lrs.is_some() || a.seeds.is_some()) {
        return Err(InputError::new(
            "--lrs and --seeds belong to a width search: give --widths too",
        )
        .into());
    }
    let progress = std::io::stderr().is_terminal();
    // JSON lines stream as each run ends; another format prints the runs at the end.
    let format = a.format.unwrap_or(Format::Json);
    match &a.widths {
        None => {
            let req = app::train::TrainRequest {
                config,
                out: a.out.clone(),
                resume: a.resume,
                progress,
                stop: Some(stop),
            };
            let r = app::train::run(&req)?;
            print_result(&r, format)?;
            let kept = r.weights.as_deref().unwrap_or("(none written)");
            let (t, steps) = (r.config.target, r.steps);
            let how = match r.status {
                crate::train::Status::Reached => {
                    format!("reached the target accuracy {t} at step {steps}")
                }
                crate::train::Status::Completed => {
                    format!("took all {steps} steps without reaching the target accuracy {t}")
                }
                crate::train::Status::Diverged => {
                    format!("DIVERGED at step {steps} (NaN or infinite loss or gradient)")
                }
                crate::train::Status::Interrupted => {
                    format!("interrupted (Ctrl-C) at step {steps}")
                }
            };
            eprintln!(
                "{how}; best accuracy {:.4} at step {}; best weights: {kept}",
                r.best_accuracy, r.best_step
            );
            if let Some(cmd) = r
                .weights
                .as_deref()
                .and_then(|w| app::train::check_command(&r.config, w))
            {
                eprintln!("as a protocol at each precision: {cmd}");
            }
            if r.status == crate::train::Status::Interrupted {
                eprintln!(
                    "the run can continue from its checkpoint: repeat the command with --resume"
                );
            }
            Ok(EXIT_OK)
        }
        Some(widths) => {
            if a.out.is_some() || a.resume {
                return Err(InputError::new(
                    "--out and --resume are for one run, not a width search",
                )
                .into());
            }
            let spec = crate::train::search::SearchSpec {
                widths: widths.clone(),
                lrs: a.lrs.clone().unwrap_or_else(|| vec![1e-3, 3e-3, 1e-2]),
                seeds: a.seeds.clone().unwrap_or_else(|| vec![0, 1, 2]),
                jobs,
            };
            let pb = spinner();
            let mut runs = Vec::new();
            let summary = app::train::run_search(
                &config,
                &spec,
                &mut |r| match format {
                    Format::Json => pb.suspend(|| print_line(&serde_json::to_value(r)?)),
                    _ => {
                        runs.push(r.clone());
                        Ok(())
                    }
                },
                &|m| pb.set_message(m),
                Some(stop),
            );
            pb.finish_and_clear();
            let summary = summary?;
            let sentence = summary.sentence();
            print_result(&app::train::SearchReport { runs, summary }, format)?;
            eprintln!("{sentence}");
            Ok(EXIT_OK)
        }
    }
}

/// Runs a preset's searches, each into its own JSON-lines file under `dir`; prints every
/// summary line, and a table of them on standard error.
fn run_preset(
    name: &str,
    dir: &std::path::Path,
    jobs: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<i32> {
    let searches = crate::train::preset::preset(name, jobs).ok_or_else(|| {
        InputError::new(format!(
            "unknown preset {name:?}: use {}",
            crate::train::preset::PRESETS.join(", ")
        ))
    })?;
    for s in &searches {
        crate::train::search::validate(&s.base, &s.spec)?;
    }
    if dir.exists() && !dir.is_dir() {
        return Err(InputError::new(format!(
            "--out-dir {}: it is a file, not a folder; name a folder",
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        InputError::new(format!(
            "--out-dir {}: cannot create it ({e}); name a writable folder",
            dir.display()
        ))
    })?;
    app::files::check_output_dir(dir, Setting::OutDir)?;
    let mut rows = Vec::new();
    for s in &searches {
        let path = dir.join(format!("{}.jsonl", s.name));
        if let Some(done) = app::train::finished_summary(&path) {
            eprintln!("{}: already done in '{}'", s.name, path.display());
            print_line(&done)?;
            rows.push((s.name.clone(), done));
            continue;
        }
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path)
                .with_context(|| format!("could not write '{}'", path.display()))?,
        );
        let pb = spinner();
        pb.set_prefix(s.name.clone());
        let summary = app::train::run_search(
            &s.base,
            &s.spec,
            &mut |r| {
                use std::io::Write;
                writeln!(file, "{}", serde_json::to_value(r)?)?;
                file.flush()?;
                Ok(())
            },
            &|m| pb.set_message(format!("{}: {m}", s.name)),
            Some(stop.clone()),
        );
        pb.finish_and_clear();
        let summary = summary?;
        let line = serde_json::to_value(&summary)?;
        {
            use std::io::Write;
            writeln!(file, "{line}")?;
            file.flush()?;
        }
        if summary.interrupted {
            eprintln!("{}: interrupted; a rerun does this search again", s.name);
            print_line(&line)?;
            return Ok(EXIT_OK);
        }
        eprintln!("{}: min width {}", s.name, line["min_width"]);
        print_line(&line)?;
        rows.push((s.name.clone(), line));
    }
    eprintln!(
        "\n{:<34} {:>9}  widths tried (runs reached / runs)",
        "search", "min width"
    );
    for (name, r) in &rows {
        let tried: Vec<String> = r["widths"]
            .as_array()
            .map(|ws| {
                ws.iter()
                    .map(|w| format!("{}:{}/{}", w["width"], w["reached"], w["runs"]))
                    .collect()
            })
            .unwrap_or_default();
        eprintln!(
            "{:<34} {:>9}  {}",
            name,
            r["min_width"]
                .as_u64()
                .map_or("not reached".to_string(), |w| w.to_string()),
            tried.join(" ")
        );
    }
    Ok(EXIT_OK)
}

fn run_plot(a: &PlotArgs) -> anyhow::Result<i32> {
    let figure = crate::plot::figure(&a.figure)?;
    if a.out.exists() && !a.out.is_dir() {
        return Err(InputError::new(format!(
            "--out {}: it is a file; name a folder for the figure",
            a.out.display()
        ))
        .into());
    }
    let (drawn, skipped) = (figure.draw)(&a.data, &a.out)?;
    if skipped > 0 {
        eprintln!(
            "{skipped} lines of the result files are not drawn (error lines, sweeps correct at no p of their range, runs without an accuracy)"
        );
    }
    write_stdout(
        format!(
            "{}\n{}\n{}\n",
            drawn.svg.display(),
            drawn.png.display(),
            drawn.csv.display()
        )
        .as_bytes(),
    )?;
    Ok(EXIT_OK)
}

fn run_paper(a: &PaperArgs, threads: Option<u16>) -> anyhow::Result<i32> {
    if a.list {
        let plan = crate::paper::plan(a.quick);
        let text: String = plan.iter().map(|s| s.command() + "\n").collect();
        write_stdout(text.as_bytes())?;
        return Ok(EXIT_OK);
    }
    let report = crate::paper::run(&crate::paper::PaperRequest {
        quick: a.quick,
        out: a
            .out
            .clone()
            .unwrap_or_else(|| crate::paper::default_out(a.quick)),
        threads,
    })?;
    write_stdout(format!("{}\n", report.display()).as_bytes())?;
    Ok(EXIT_OK)
}

/// Most worker threads per core `--threads` may ask for.
const MAX_THREADS_PER_CORE: usize = 4;

/// Refuses `--threads` above [`MAX_THREADS_PER_CORE`] × the cores: every parallel loop splits
/// its work into at least as many pieces as threads, so thousands of threads only add
/// start-up and scheduling time (`cc eq --n 3` took minutes with `--threads 10000`).
fn check_threads(threads: u16) -> Result<(), InputError> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let max = MAX_THREADS_PER_CORE * cores;
    if usize::from(threads) > max {
        return Err(InputError::new(format!(
            "{t} {threads} is more than {MAX_THREADS_PER_CORE} per core: this machine has \
             {cores} cores, so at most {t} {max} (results do not depend on the thread \
             count; omit {t} to use every core)",
            t = Setting::Threads
        )));
    }
    Ok(())
}

fn spinner() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .expect("static template is valid"),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

fn run_cc(args: &CcArgs) -> anyhow::Result<i32> {
    let req = CcRequest {
        problem: args.problem.clone(),
        n: args.n,
        matrix: args.matrix.clone(),
        certify: args.certify.clone(),
        max_memory: args.max_memory,
        limits: Limits {
            fooling_max_entries: args.fooling_entries,
            search_nodes: args.search_nodes,
            rectangle_max_cells: args.rectangle_cells,
            protocol_max_classes: args.protocol_classes,
            rational_max_entries: args.rational_entries,
            gf2_max_work: args.gf2_work,
        },
        spell: flag,
    };
    let pb = spinner();
    let summary = app::cc::run(&req, &|m| pb.set_message(m));
    pb.finish_and_clear();
    print_result(
        &summary?,
        output_format(args.json, args.format, Format::Table),
    )?;
    Ok(EXIT_OK)
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<i32> {
    let format = Format::from_json_flag(args.json);
    let mut verdicts = Vec::new();
    for path in &args.files {
        // A file that is not a certificate, or one the checker refuses before building anything
        // (a field out of range, over --max-memory), is bad input (exit 2), but the other files
        // are still checked and every verdict is printed.
        let verdict = app::verify::verify_file(path, args.max_memory, flag);
        if let app::verify::Outcome::Refused(why) = &verdict.outcome {
            eprintln!("error: {why}");
        }
        if format == Format::Table {
            print(&verdict, format)?;
        }
        verdicts.push(verdict);
    }
    if format == Format::Json {
        print(verdicts.as_slice(), format)?;
    }
    Ok(app::verify::exit_code(&verdicts))
}

/// Progress lines of a construction: the spinner's message, and with `--verbose` a line on
/// stderr each (time since the start first).
fn construct_progress(pb: &ProgressBar, verbose: bool) -> Progress {
    let pb = pb.clone();
    let start = std::time::Instant::now();
    Progress::to(move |line| {
        if verbose {
            pb.suspend(|| eprintln!("[{:>7.1} s] {line}", start.elapsed().as_secs_f64()));
        }
        pb.set_message(line.to_string());
    })
}

fn run_construct(args: &ConstructArgs) -> anyhow::Result<i32> {
    let req = ConstructRequest {
        name: args.name,
        n: args.n,
        precision: args.precision.clone(),
        gamma: args.gamma,
        seed: args.seed,
        samples: args.samples,
        save: args.save.clone(),
        curve: args.curve.clone(),
        out: args.out.clone(),
        max_work: args.max_work,
    };
    let pb = spinner();
    let status = |m: String| pb.set_message(m);
    let ui = Ui {
        status: &status,
        progress: construct_progress(&pb, args.verbose),
        spell: flag,
    };
    if let Some(curve) = &args.curve {
        // The lines stream as JSON; another format prints the table at the end.
        let format = output_format(args.json, args.format, Format::Json);
        let mut sink = |line: &serde_json::Value| match format {
            Format::Json => pb.suspend(|| print_line(line)),
            _ => Ok(()),
        };
        let summary = app::construct::curve(&req, curve, &ui, &mut sink);
        pb.finish_and_clear();
        let summary = summary?;
        print_result(&summary, format)?;
        return Ok(summary.exit_code());
    }
    let report = app::construct::build(&req, &ui);
    pb.finish_and_clear();
    let report = report?;
    print_result(
        &report,
        output_format(args.json, args.format, Format::Table),
    )?;
    Ok(if report.correct {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

fn run_sample(args: &SampleArgs) -> anyhow::Result<i32> {
    if args.count == 0 {
        return Err(InputError::new(format!(
            "{c} 0 asks for no examples: give {c} 1 or more",
            c = Setting::Count
        ))
        .into());
    }
    let options = TaskOptions {
        dim: args.dim,
        margin: args.margin,
        ..args.options.task_options()
    };
    let examples = task::sample(&args.task, args.n, args.count, args.seed, &options)?;
    print(examples.as_slice(), Format::from_json_flag(args.json))?;
    Ok(EXIT_OK)
}

fn run_dyck_bijection(args: &DyckBijectionArgs) -> anyhow::Result<i32> {
    let rows = task::premises::check_odd_even_bijections(args.n)?;
    let report = crate::report::premises::BijectionReport {
        up_to: args.n,
        rows,
    };
    print(&report, Format::from_json_flag(args.json))?;
    Ok(if report.holds() {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

fn run_nearest_margin(args: &NearestMarginArgs) -> anyhow::Result<i32> {
    let report = task::premises::check_nearest_reduction(args.n, args.dim, args.margin)?;
    print(&report, Format::from_json_flag(args.json))?;
    Ok(if report.holds {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

/// The values clap reads: each parsed into its type, refused in the library's words (for
/// `--rounding` and `--accumulate`, words that name the setting). `main` prints a refusal as the
/// library's error, as it prints errors found after parsing.
fn parse_arch(s: &str) -> Result<Arch, InputError> {
    Arch::parse(s)
}

fn parse_demo(s: &str) -> Result<crate::demo::Demo, InputError> {
    s.parse()
}

fn parse_construction(s: &str) -> Result<Construction, InputError> {
    s.parse()
}

/// A number clap does not read is refused in clap's words, as any number; one out of range in
/// [`Gamma`]'s.
fn parse_gamma(s: &str) -> Result<Gamma, Box<dyn std::error::Error + Send + Sync>> {
    let g: f64 = s.parse()?;
    Ok(Gamma::new(g)?)
}

fn parse_precision(s: &str) -> Result<Precision, InputError> {
    s.parse()
}

fn parse_rounding(s: &str) -> Result<Rounding, InputError> {
    s.parse().map_err(|_| {
        InputError::new(format!(
            "{} {s:?}: use nearest-even or down",
            Setting::Rounding
        ))
    })
}

fn parse_accumulate(s: &str) -> Result<Accumulate, InputError> {
    s.parse()
        .map_err(|_| InputError::new(format!("{} {s:?}: use wide or format", Setting::Accumulate)))
}

fn run_model(args: &RunArgs) -> anyhow::Result<i32> {
    let mut precision = args.precision;
    if let Some(r) = args.rounding {
        precision = precision.with_rounding(r);
    }
    let precision = precision.with_accumulate(args.accumulate);
    let files = RunFiles {
        weights: args.weights.clone(),
        inputs: args.inputs.clone(),
        prefix: args.prefix.clone(),
        names: args.names.clone(),
    };
    let req = RunRequest::new(args.arch, files, precision, args.nonlinearity, args.heads)?;
    print(&app::run::run(&req)?, Format::from_json_flag(args.json))?;
    Ok(EXIT_OK)
}

fn run_check(args: &CheckArgs) -> anyhow::Result<i32> {
    let req = CheckRequest {
        task: args.task.clone(),
        arch: args.arch,
        width: args.width.clone(),
        layers: args.layers,
        heads: args.heads,
        outputs: args.outputs,
        precision: args.precision.clone(),
        n: args.n,
        init: args.init.clone(),
        construct: args.construct,
        seed: args.seed,
        weights: args.weights.clone(),
        names: args.names.clone(),
        sample: args.sample,
        out: args.out.clone(),
        witness_out: args.witness_out.clone(),
        given: args.given,
    };
    let format = output_format(args.json, args.format, Format::Table);
    let pb = spinner();
    // A grid's point lines stream as JSON lines with --json; another format is printed at the
    // end.
    let mut sink = |line: &serde_json::Value| match format {
        Format::Json => pb.suspend(|| print_line(line)),
        _ => Ok(()),
    };
    let outcome = app::check::run(&req, &|m| pb.set_message(m), &mut sink, flag);
    pb.finish_and_clear();
    match outcome? {
        app::check::Outcome::Point(report) => {
            print_result(report.as_ref(), format)?;
            Ok(EXIT_OK)
        }
        app::check::Outcome::Grid(grid) => {
            if let Some(path) = &grid.out {
                eprintln!(
                    "{} points in {} ({} were already there)",
                    grid.points,
                    path.display(),
                    grid.skipped
                );
            }
            print_result(&grid, format)?;
            Ok(grid.exit_code())
        }
    }
}
