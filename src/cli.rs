//! The command line: `clap` definitions, turned into typed requests and run. Nothing else in the
//! crate knows about the command line.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::certificate::CertificateFile;
use crate::certificate::check;
use crate::certificate::dot::protocol_dot;
use crate::certificate::{Claim, ProtocolCert};
use crate::construct::{self, ConstructOptions, Progress};
use crate::error::{EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, InputError};
use crate::input;
use crate::matrix::CommMatrix;
use crate::measures::Limits;
use crate::measures::summary::summarize;
use crate::model::{self, LoadOptions, Nonlinearity};
use crate::numeric::{Accumulate, Precision, Rounding, Stats};
use crate::problem::{DEFAULT_MAX_MEMORY, ProblemSpec, human_bytes};
use crate::protocol::rnn as rnn_protocol;
use crate::protocol::transformer as transformer_protocol;
use crate::protocol::witness::{self, WITNESS_VERSION, WitnessFile};
use crate::protocol::{CheckOptions, CheckReport};
use crate::protocol::{ModelSource, Split, reduction_kind};
use crate::report;
use crate::sweep;
use crate::task::Reduction;
use crate::task::{self, TaskOptions};

/// Writes to standard output like `print!`, but a failed write (a full disk, a closed
/// descriptor) is an error with context instead of `print!`'s panic, and a reader that went away
/// (a closed pipe, as in `ccsep … | head`) ends the run quietly.
macro_rules! out {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))?
    };
}

/// [`out!`] with a newline, like `println!`.
macro_rules! outln {
    ($($arg:tt)*) => {
        write_stdout(format_args!("{}\n", format_args!($($arg)*)))?
    };
}

fn write_stdout(args: std::fmt::Arguments) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(EXIT_OK),
        Err(e) => Err(anyhow::Error::new(e).context("could not write to standard output")),
    }
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
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// rnn, lstm, gru, ssm, linear-attention or transformer.
    #[arg(long)]
    pub arch: String,
    /// Weights in safetensors (PyTorch's names for rnn / lstm / gru).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// Number format: fixed:I.F, paper:K, float:E.M, e4m3, e5m2, bf16, f16, f32, f64.
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// Rounding mode: nearest-even or down (default: nearest-even; down for paper:K).
    #[arg(long)]
    pub rounding: Option<String>,
    /// Dot products: wide (sum in f64, round once) or format (round every step).
    #[arg(long, default_value = "wide")]
    pub accumulate: String,
    /// A JSON list of input vectors, one per step.
    #[arg(long, value_name = "FILE")]
    pub inputs: PathBuf,
    /// Prefix of the tensor names (found automatically when unique).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Elman RNN activation: tanh or relu (default: the file's metadata, else tanh).
    #[arg(long)]
    pub nonlinearity: Option<String>,
    /// Transformer heads (default: the file's metadata).
    #[arg(long)]
    pub heads: Option<usize>,
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
        conflicts_with = "construct"
    )]
    pub arch: Option<String>,
    /// Hidden size (state size for ssm, d_model for transformer) of a random model: a number,
    /// or a grid axis `1..16` / `2,4,8` (one JSON line per point).
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
    /// axis: a range fixed:1.1..fixed:1.7 or a comma list. With --construct, the precision
    /// `ccsep construct` reports for it unless given.
    #[arg(long, required_unless_present = "construct")]
    pub precision: Option<String>,
    /// Bits per party (INDEX, EQ, DISJ), or the string length (dyck, dyck-halves).
    #[arg(long)]
    pub n: u32,
    /// random (with --seed); omit with --weights.
    #[arg(long, conflicts_with = "weights")]
    pub init: Option<String>,
    /// One of the paper's constructions, built at --n (see `ccsep construct`).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["weights", "init"])]
    pub construct: Option<String>,
    /// Seed of the random model and of the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weights in safetensors (PyTorch's names for rnn / lstm / gru).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Check K seeded Alice inputs (against every Bob input) instead of all.
    #[arg(long, value_name = "K")]
    pub sample: Option<u64>,
    /// Append a grid's JSON lines to this file; a rerun skips the points already there.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write the witness (if any) to this file for `ccsep verify`.
    #[arg(long, value_name = "FILE")]
    pub witness_out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ConstructArgs {
    /// vectors, index-lookup, equality, disjointness, nearest, dyck-rnn or index-rnn.
    pub name: String,
    /// The length N (symbols, bits per party, string length, or vectors).
    #[arg(long)]
    pub n: Option<usize>,
    /// The precision to verify at (default: the construction's own — the one its derivation
    /// gives, or the smallest it finds correct; the report says which).
    #[arg(long)]
    pub precision: Option<String>,
    /// Margin of the nearly orthogonal codes: every |<T_i, T_j>| <= gamma (default 0.25; vectors,
    /// index-lookup, equality and disjointness: the others have no such codes).
    #[arg(long)]
    pub gamma: Option<f64>,
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
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
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
    #[arg(long)]
    pub variant: Option<String>,
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
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
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
        Command::Construct(args) => run_construct(&args),
    }
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
            "--threads {threads} is more than {MAX_THREADS_PER_CORE} per core: this machine has \
             {cores} cores, so at most --threads {max} (results do not depend on the thread \
             count; omit --threads to use every core)"
        )));
    }
    Ok(())
}

fn problem_of(args: &CcArgs) -> Result<(ProblemSpec, CommMatrix), InputError> {
    if let Some(path) = &args.matrix {
        // Read as a stream and bounded: a matrix file holds at least a byte per entry, so one
        // over --max-memory bytes would not fit anyway; /dev/zero or a binary file stops at its
        // first byte.
        let file = input::open_bounded(
            path,
            "matrix file",
            args.max_memory,
            "raise --max-memory BYTES if the machine has the memory",
        )?;
        let m = CommMatrix::read_within(file, args.max_memory)
            .map_err(|e| InputError::new(format!("{}: {}", path.display(), e.message)))?;
        return Ok((ProblemSpec::from_matrix(&m), m));
    }
    let Some(name) = &args.problem else {
        return Err(InputError::new(
            "name a problem (index, eq, disj, gt, ip) with --n N, or pass --matrix FILE",
        ));
    };
    let Some(n) = args.n else {
        return Err(InputError::new(format!(
            "{name} needs a size: add --n N (e.g. ccsep cc {name} --n 4)"
        )));
    };
    let spec = ProblemSpec::named(name, n)?;
    spec.check_size(args.max_memory)?;
    let m = spec.matrix()?;
    Ok((spec, m))
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
    let limits = Limits {
        fooling_max_entries: args.fooling_entries,
        search_nodes: args.search_nodes,
        rectangle_max_cells: args.rectangle_cells,
        protocol_max_classes: args.protocol_classes,
        rational_max_entries: args.rational_entries,
        gf2_max_work: args.gf2_work,
    };
    let pb = spinner();
    pb.set_message("building the matrix");
    let (spec, m) = problem_of(args)?;
    if let Some(dir) = &args.certify {
        if dir.exists() && !dir.is_dir() {
            return Err(InputError::new(format!(
                "--certify {}: it is a file, not a directory; name a directory (it is created if missing)",
                dir.display()
            ))
            .into());
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            InputError::new(format!(
                "could not create the certificate directory {}: {e}",
                dir.display()
            ))
        })?;
        check_output_dir(dir, "--certify")?;
    }
    let mut summary = summarize(&spec, &m, &limits, args.certify.is_some(), &|stage| {
        pb.set_message(stage.to_string())
    });
    pb.finish_and_clear();
    if let Some(dir) = &args.certify {
        for (name, cert) in &summary.certificates {
            let path = dir.join(name);
            write_json(&path, cert)?;
            summary.certificate_files.push(path.display().to_string());
            if let Claim::Protocol(ProtocolCert { tree, .. }) = &cert.claim {
                let dot = dir.join("protocol.dot");
                std::fs::write(&dot, protocol_dot(tree))
                    .with_context(|| format!("could not write {}", dot.display()))?;
                summary.certificate_files.push(dot.display().to_string());
            }
        }
    }
    if args.json {
        outln!("{}", report::summary_json(&summary));
    } else {
        out!("{}", report::summary_table(&summary));
    }
    Ok(EXIT_OK)
}

fn write_json(path: &Path, cert: &CertificateFile) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("could not create certificate file {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, cert)
        .with_context(|| format!("could not write certificate file {}", path.display()))?;
    std::io::Write::flush(&mut w)
        .with_context(|| format!("could not write certificate file {}", path.display()))?;
    Ok(())
}

/// Refuses, before any work, an output file that cannot be written: a directory, a path in a
/// missing directory, a read-only place. A regular file is opened for writing without
/// truncating it (one that did not exist is removed again, so a run that ends up writing
/// nothing leaves nothing behind); a device such as /dev/stdout is left to the write.
fn check_output_file(path: &Path, flag: &str) -> Result<(), InputError> {
    let cannot = |why: String| {
        InputError::new(format!(
            "{flag} {}: cannot write there: {why}",
            path.display()
        ))
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(cannot(format!(
                "it is a directory; name a file in it (e.g. {})",
                path.join("out").display()
            )));
        }
        Ok(m) if !m.is_file() => return Ok(()),
        _ => {}
    }
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            cannot(format!(
                "{e}; check that the directory exists and is writable"
            ))
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Refuses, before any work, a directory that files cannot be created in (e.g. one under /proc),
/// by creating and removing a probe file in it.
fn check_output_dir(dir: &Path, flag: &str) -> Result<(), InputError> {
    let probe = dir.join(format!(".ccsep-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            InputError::new(format!(
                "{flag} {}: cannot create files there ({e}); name a writable directory",
                dir.display()
            ))
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// A file `verify` reads: a certificate or a witness, told apart by their keys; a witness with
/// what its admission found.
enum Checkable {
    Certificate(Box<CertificateFile>),
    Witness(Box<WitnessFile>, Box<(witness::Admitted, model::Model)>),
}

/// The first top-level field of `$v` that does not read as its type: `(name, error)`.
macro_rules! first_bad_field {
    ($v:expr, $file:ty, $($f:ident: $t:ty),* $(,)?) => {{
        let v: &serde_json::Value = $v;
        let mut bad = None;
        $(
            if bad.is_none()
                && let Some(x) = v.get(stringify!($f))
                && let Err(e) = <$t as serde::Deserialize>::deserialize(x)
            {
                bad = Some((stringify!($f), e.to_string()));
            }
        )*
        bad
    }};
}

/// Largest file whose parse error is narrowed down to the field at fault (that takes a second
/// parse into a JSON tree, several times the file's size in memory).
const DIAGNOSE_MAX_BYTES: u64 = 16 << 20;

/// Reads, parses and admits one file: every error here (unreadable, not a certificate or a
/// witness, a field the checker refuses, over `max_memory`) is bad input, found before anything
/// is built. Errors name the file, and the field where one is at fault.
/// The text of a JSON file for `verify`, at most `limit` bytes: refused at its first
/// non-blank byte when that cannot open a JSON object, and when it is not UTF-8.
fn read_json_text(path: &Path, limit: u64) -> Result<String, InputError> {
    use std::io::Read;
    let name = path.display();
    let mut reader = input::open_bounded(
        path,
        "file",
        limit,
        "`ccsep verify --max-memory BYTES` raises the limit (a file may take 8 times its size once read)",
    )?;
    let could_not = |e: std::io::Error| InputError::new(format!("could not read {name}: {e}"));
    let mut bytes = Vec::new();
    (&mut reader)
        .take(4096)
        .read_to_end(&mut bytes)
        .map_err(could_not)?;
    if let Some(&b) = bytes.iter().find(|b| !b.is_ascii_whitespace())
        && b != b'{'
    {
        return Err(InputError::new(format!(
            "{name} is not JSON: a certificate or witness is one JSON object, starting with '{{', and this file starts with byte 0x{b:02x}"
        )));
    }
    reader.read_to_end(&mut bytes).map_err(could_not)?;
    String::from_utf8(bytes).map_err(|e| {
        InputError::new(format!(
            "{name} is not UTF-8 text (byte {} is not)",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn read_certificate(path: &Path, max_memory: u64) -> Result<Checkable, InputError> {
    let name = path.display();
    let len = std::fs::metadata(path)
        .map_err(|e| InputError::new(format!("could not open {name}: {e}")))?
        .len();
    // Parsed, a file takes up to about 8 times its text (a list of short numbers, each a u64).
    let parsed = u128::from(len) * 8;
    if parsed > u128::from(max_memory) {
        return Err(InputError::new(format!(
            "{name} is {} and may take {} once read, over the memory limit of {}; `ccsep verify --max-memory BYTES` raises it if the machine has the memory",
            human_bytes(u128::from(len)),
            human_bytes(parsed),
            human_bytes(u128::from(max_memory))
        )));
    }
    // The size above is 0 for a device or a pipe (/dev/zero, /dev/urandom): the read itself is
    // bounded to the same limit, and stops at once when the text cannot be a JSON object.
    let text = read_json_text(path, max_memory / 8)?;
    let len = text.len() as u64;
    /// Only whether the marker key is there (whatever its value); everything else is skipped
    /// without being kept.
    #[derive(serde::Deserialize)]
    struct Marker {
        #[serde(default, deserialize_with = "present")]
        ccsep_witness: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d).map(|_| true)
    }
    let marker: Marker = serde_json::from_str(&text)
        .map_err(|e| InputError::new(format!("{name} is not JSON: {e}")))?;
    let in_file = |e: InputError| InputError::new(in_file(&name.to_string(), &e.message));
    if marker.ccsep_witness {
        let w: WitnessFile = serde_json::from_str(&text).map_err(|e| {
            field_error(&text, len, &name.to_string(), "witness", e, |v| {
                first_bad_field!(v, WitnessFile, ccsep_witness: u32, model: ModelSource,
                    precision: Precision, task: String, n: u32, x: u64, x_prime: u64, y: u64,
                    y_prime: Option<u64>, expected: [bool; 2], answers: [bool; 2])
            })
        })?;
        let admitted = witness::admit(&w, max_memory).map_err(in_file)?;
        let model = witness::rebuild(&w, &admitted).map_err(in_file)?;
        Ok(Checkable::Witness(Box::new(w), Box::new((admitted, model))))
    } else {
        let c: CertificateFile = serde_json::from_str(&text).map_err(|e| {
            field_error(&text, len, &name.to_string(), "certificate", e, |v| {
                first_bad_field!(v, CertificateFile, ccsep_certificate: u32,
                    problem: ProblemSpec, claim: Claim)
            })
        })?;
        check::admit(&c, max_memory).map_err(in_file)?;
        Ok(Checkable::Certificate(Box::new(c)))
    }
}

/// A parse error of `path`, naming the top-level field at fault when one is (small files only).
fn field_error(
    text: &str,
    len: u64,
    path: &str,
    what: &str,
    e: serde_json::Error,
    find: impl Fn(&serde_json::Value) -> Option<(&'static str, String)>,
) -> InputError {
    let found = (len <= DIAGNOSE_MAX_BYTES)
        .then(|| serde_json::from_str::<serde_json::Value>(text).ok())
        .flatten()
        .and_then(|v| find(&v));
    match found {
        Some((field, msg)) => InputError::new(format!("field `{field}` of {path}: {msg}")),
        None => InputError::new(format!("{path} is not a ccsep {what}: {e}")),
    }
}

/// `field `f`: msg` (how the checkers name a field) as `field `f` of path: msg`.
fn in_file(path: &str, msg: &str) -> String {
    match msg
        .strip_prefix("field `")
        .and_then(|rest| rest.split_once("`: "))
    {
        Some((field, rest)) => format!("field `{field}` of {path}: {rest}"),
        None => format!("{path}: {msg}"),
    }
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<i32> {
    let mut code = EXIT_OK;
    let mut bad_input = false;
    let mut json = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        // A file that is not a certificate, or one the checker refuses before building anything
        // (a field out of range, over --max-memory), is bad input (exit 2), but the other files
        // are still checked and every verdict is printed.
        let cert = match read_certificate(path, args.max_memory) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                bad_input = true;
                if args.json {
                    json.push(serde_json::json!({
                        "file": name, "accepted": false, "reason": e.to_string(),
                    }));
                }
                continue;
            }
        };
        let result = match &cert {
            Checkable::Certificate(c) => {
                check::check_with_limit(c, args.max_memory).map_err(|r| r.0)
            }
            Checkable::Witness(w, a) => witness::verify_model(w, &a.0, &a.1),
        };
        if result.is_err() {
            code = EXIT_CHECK_FAILED;
        }
        if args.json {
            json.push(report::verdict_json(&name, &result));
        } else {
            out!("{}", report::verdict_text(&name, &result));
        }
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json).expect("JSON values serialise")
        );
    }
    Ok(if bad_input { EXIT_BAD_INPUT } else { code })
}

fn construct_options(
    args: &ConstructArgs,
    n: usize,
    pb: &ProgressBar,
) -> Result<ConstructOptions, InputError> {
    let gamma = match args.gamma {
        Some(_)
            if construct::NAMES.contains(&args.name.as_str())
                && !construct::reads_gamma(&args.name) =>
        {
            return Err(InputError::new(format!(
                "--gamma sets the margin of nearly orthogonal codes, and {} has none{}: drop --gamma",
                args.name,
                if args.name == "nearest" {
                    " (it uses the nearest task's margin 0.1)"
                } else {
                    ""
                }
            )));
        }
        Some(g) if !(g > 0.0 && g < 1.0) => {
            return Err(InputError::new(format!(
                "--gamma {g}: the margin must be strictly between 0 and 1"
            )));
        }
        Some(g) => g,
        None => ConstructOptions::default().gamma,
    };
    if let Some(w) = args.max_work
        && !(w.is_finite() && w > 0.0)
    {
        return Err(InputError::new(format!(
            "--max-work {w}: the work limit must be a positive number of operations (e.g. 2e12)"
        )));
    }
    Ok(ConstructOptions {
        n,
        precision: args
            .precision
            .as_deref()
            .map(Precision::parse)
            .transpose()?,
        gamma,
        seed: args.seed,
        samples: args.samples,
        max_work: args.max_work,
        progress: construct_progress(pb, args.verbose),
    })
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
    if let Some(curve) = &args.curve {
        return run_curve(args, curve);
    }
    if args.out.is_some() {
        return Err(InputError::new(
            "--out appends a size curve's lines: add --curve A..B, or drop --out (one construction prints its report; --save writes its weights)",
        )
        .into());
    }
    let Some(n) = args.n else {
        return Err(InputError::new(format!(
            "{} needs a length: add --n N (e.g. ccsep construct {} --n 16), or --curve A..B",
            args.name, args.name
        ))
        .into());
    };
    if let Some(path) = &args.save {
        // `vectors` is the one construction that builds codes, not a model: refused before the
        // build rather than after it (the check after the build stays, for any other).
        if args.name == "vectors" {
            return Err(InputError::new(
                "vectors builds codes, not a model, so there is nothing to --save; drop --save",
            )
            .into());
        }
        check_output_file(path, "--save")?;
    }
    let pb = spinner();
    let opts = construct_options(args, n, &pb)?;
    pb.set_message(format!("building and verifying {} at n = {n}", args.name));
    let built = construct::construct(&args.name, &opts);
    pb.finish_and_clear();
    let built = built?;
    if let Some(path) = &args.save {
        let Some(model) = &built.model else {
            return Err(InputError::new(format!(
                "{} builds no model, so there is nothing to --save",
                args.name
            ))
            .into());
        };
        model
            .save(path)
            .with_context(|| format!("could not save the model to {}", path.display()))?;
    }
    if args.json {
        outln!("{}", report::construct_json(&built.report));
    } else {
        out!("{}", report::construct_table(&built.report));
    }
    Ok(if built.report.correct {
        EXIT_OK
    } else {
        EXIT_CHECK_FAILED
    })
}

/// The size curve: one JSON line per length `2^e`, to stdout or appended to `--out`.
fn run_curve(args: &ConstructArgs, curve: &str) -> anyhow::Result<i32> {
    let exps = sweep::parse_usize_axis("--curve", curve)?;
    if let Some(&e) = exps.iter().find(|&&e| e >= 40) {
        return Err(InputError::new(format!(
            "--curve {curve}: exponent {e} is too large (lengths are 2^A .. 2^B with B < 40)"
        ))
        .into());
    }
    let margin = construct::margin_setting(
        &args.name,
        args.gamma.unwrap_or(ConstructOptions::default().gamma),
    )
    .map(|m| format!(" {m}"))
    .unwrap_or_default();
    let config = format!(
        "name={}{margin} seed={} samples={} precision={:?}",
        args.name, args.seed, args.samples, args.precision
    );
    let key_of = |v: &serde_json::Value| {
        let c = v.get("curve")?.as_str()?;
        Some(format!("{c}|{}", v.get("n")?.as_u64()?))
    };
    // The options are the same at every length: refused once, before anything runs; so are
    // the lengths the construction does not take.
    construct_options(args, 1, &ProgressBar::hidden())?;
    if let Some(max) = construct::curve_max_n(&args.name)?
        && let Some(&e) = exps.iter().find(|&&e| 1usize << e > max)
    {
        return Err(InputError::new(format!(
            "--curve {curve}: {} takes n ≤ {max}, and 2^{e} = {} is larger; end the curve at {}",
            args.name,
            1usize << e,
            max.ilog2()
        ))
        .into());
    }
    let mut results = match &args.out {
        Some(path) => Some(sweep::Results::open(path, key_of)?),
        None => None,
    };
    let pb = spinner();
    let mut failed = false;
    for e in exps {
        let n = 1usize << e;
        if results
            .as_ref()
            .is_some_and(|r| r.is_done(&format!("{config}|{n}")))
        {
            continue;
        }
        pb.set_message(format!("{} at n = 2^{e} = {n}", args.name));
        let mut line = match construct::smallest(&args.name, &construct_options(args, n, &pb)?) {
            Ok(point) => serde_json::to_value(&point).expect("size points serialise"),
            Err(err) => {
                failed = true;
                serde_json::json!({"name": args.name, "n": n, "error": err.message})
            }
        };
        line["curve"] = serde_json::Value::String(config.clone());
        match &mut results {
            Some(r) => r.append(&line)?,
            None => outln!("{line}"),
        }
    }
    pb.finish_and_clear();
    Ok(if failed { EXIT_BAD_INPUT } else { EXIT_OK })
}

fn run_sample(args: &SampleArgs) -> anyhow::Result<i32> {
    if args.count == 0 {
        return Err(
            InputError::new("--count 0 asks for no examples: give --count 1 or more").into(),
        );
    }
    let options = TaskOptions {
        alphabet: args.alphabet,
        types: args.types,
        depth: args.depth,
        keys: args.keys,
        values: args.values,
        queries: args.queries,
        variant: args.variant.as_deref().map(str::parse).transpose()?,
        dim: args.dim,
        margin: args.margin,
    };
    let examples = task::sample(&args.task, args.n, args.count, args.seed, &options)?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&examples).expect("examples serialise")
        );
    } else {
        for e in &examples {
            outln!("{e}");
        }
    }
    Ok(EXIT_OK)
}

/// Parses `--precision`, `--rounding` and `--accumulate` into one `Precision`.
fn precision_of(
    spec: &str,
    rounding: Option<&str>,
    accumulate: &str,
) -> Result<Precision, InputError> {
    let mut p = Precision::parse(spec)?;
    if let Some(r) = rounding {
        p = p.with_rounding(match r {
            "nearest-even" => Rounding::NearestEven,
            "down" => Rounding::Down,
            other => {
                return Err(InputError::new(format!(
                    "--rounding {other:?}: use nearest-even or down"
                )));
            }
        });
    }
    Ok(p.with_accumulate(match accumulate {
        "wide" => Accumulate::Wide,
        "format" => Accumulate::Format,
        other => {
            return Err(InputError::new(format!(
                "--accumulate {other:?}: use wide or format"
            )));
        }
    }))
}

/// Most bytes of a `run --inputs` file: 64 MiB, millions of steps.
const MAX_INPUTS_BYTES: u64 = 64 << 20;

fn run_model(args: &RunArgs) -> anyhow::Result<i32> {
    let prec = precision_of(&args.precision, args.rounding.as_deref(), &args.accumulate)?;
    // Flags that only some architectures read are refused on the others (as `check` does),
    // rather than ignored.
    let arch = model::Arch::parse(&args.arch)?;
    if args.nonlinearity.is_some() && arch != model::Arch::Rnn {
        return Err(InputError::new(format!(
            "--nonlinearity applies to an rnn (an Elman RNN's activation), not to {}; drop it",
            arch.name()
        ))
        .into());
    }
    if args.heads.is_some() && arch != model::Arch::Transformer {
        return Err(InputError::new(format!(
            "--heads applies to a transformer, not to {}; drop it",
            arch.name()
        ))
        .into());
    }
    let options = LoadOptions {
        prefix: args.prefix.clone(),
        nonlinearity: args
            .nonlinearity
            .as_deref()
            .map(Nonlinearity::parse)
            .transpose()?,
        heads: args.heads,
        ..LoadOptions::default()
    };
    let inputs = read_inputs(&args.inputs)?;
    let model = model::load(&args.arch, &args.weights, &options)?;
    let mut stats = Stats::default();
    let trace = model.forward(&inputs, &prec, &mut stats)?;
    if args.json {
        let out = serde_json::json!({
            "arch": model.arch(),
            "precision": prec.name(),
            "states": trace.hidden,
            "outputs": trace.outputs,
            "full_states": trace.states,
            "saturated": stats.saturated,
            "nan": stats.nan,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&out).expect("JSON values serialise")
        );
    } else {
        out!("{}", report::trace_table(&trace, &prec.name(), &stats));
    }
    Ok(EXIT_OK)
}

/// The `run --inputs` file: a JSON list of steps, each a list of numbers, streamed and bounded
/// (a binary file or a device is refused at its first bad byte), with at least one step.
fn read_inputs(path: &Path) -> Result<Vec<Vec<f64>>, InputError> {
    let mut file = input::open_bounded(
        path,
        "inputs",
        MAX_INPUTS_BYTES,
        "split the sequence into several runs",
    )?;
    let parsed = serde_json::from_reader(std::io::BufReader::new(&mut file));
    let inputs: Vec<Vec<f64>> = match parsed {
        Ok(v) => v,
        Err(_) if file.over() => {
            return Err(InputError::new(format!(
                "could not read inputs {}: {}",
                path.display(),
                file.over_message()
            )));
        }
        Err(e) => {
            return Err(InputError::new(format!(
                "{}: expected a JSON list of input vectors (one list of numbers per step): {e}",
                path.display()
            )));
        }
    };
    if inputs.is_empty() {
        return Err(InputError::new(format!(
            "{} is an empty list: give at least one step, e.g. [[0.5, -1.0]] for one step of two numbers",
            path.display()
        )));
    }
    Ok(inputs)
}

/// The model of one check: a `--construct` construction, from `--weights`, or random at
/// `width`.
fn check_source(
    args: &CheckArgs,
    width: usize,
    precision: &Precision,
) -> Result<ModelSource, InputError> {
    if let Some(name) = &args.construct {
        return Ok(ModelSource::Construct {
            name: name.clone(),
            n: args.n as usize,
            seed: args.seed,
            precision: Some(precision.name()),
        });
    }
    let arch = args.arch.clone().unwrap_or_default();
    match (&args.weights, args.init.as_deref()) {
        (Some(path), _) => Ok(ModelSource::Weights {
            arch,
            // Absolute, so that a witness file re-runs from any directory.
            path: std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
        }),
        (None, Some("random")) => Ok(ModelSource::Random {
            arch,
            width,
            layers: args.layers,
            output: args.outputs,
            seed: args.seed,
            heads: args.heads,
        }),
        (None, Some(other)) => Err(InputError::new(format!(
            "--init {other:?}: only random is supported (or pass --weights FILE)"
        ))),
        (None, None) => Err(InputError::new(
            "name the model: --init random --seed S, --weights FILE, or --construct NAME",
        )),
    }
}

/// One check: the Thm 4 protocol for a Transformer, prefix / suffix for a recurrent model.
fn check_point(
    args: &CheckArgs,
    source: &ModelSource,
    precision: &Precision,
    reduction: &Reduction,
    progress: &(dyn Fn(String) + Sync),
) -> Result<CheckReport, InputError> {
    let model = source.build(reduction.task().input_dim())?;
    let options = CheckOptions {
        sample: args.sample,
        seed: args.seed,
        ..CheckOptions::default()
    };
    if model.state_size().is_none() {
        transformer_protocol::check(&model, source, precision, reduction, &options, progress)
    } else {
        let split = Split::new(reduction.clone())?;
        rnn_protocol::check(&model, source, precision, &split, &options, progress)
    }
}

fn run_check(args: &CheckArgs) -> anyhow::Result<i32> {
    if let Some(path) = &args.witness_out {
        check_output_file(path, "--witness-out")?;
    }
    // Before a --construct model is built to learn its precision (the grid reads the file later).
    if let Some(path) = &args.out {
        check_output_file(path, "--out")?;
    }
    if args.construct.is_some()
        && (args.width != "2" || args.layers != 1 || args.outputs != 1 || args.heads.is_some())
    {
        return Err(InputError::new(
            "--width, --layers, --outputs and --heads size a random model; a --construct model has its own sizes, so drop them",
        )
        .into());
    }
    if args.weights.is_some() && (args.layers != 1 || args.outputs != 1 || args.heads.is_some()) {
        return Err(InputError::new(
            "--layers, --outputs and --heads size a random model; a --weights model has its own sizes (heads from the file's metadata), so drop them",
        )
        .into());
    }
    let task = check_task(args)?;
    let widths = sweep::parse_usize_axis("--width", &args.width)?;
    if widths.contains(&0) {
        return Err(InputError::new(format!(
            "--width {}: every width must be at least 1 (e.g. --width 1..{})",
            args.width,
            widths.iter().max().copied().unwrap_or(1).max(1)
        ))
        .into());
    }
    let reduction = Reduction::new(reduction_kind(&task)?, args.n)?;
    let precisions = sweep::parse_precision_axis(&check_precision(args)?)?;
    if widths.len() > 1 || precisions.len() > 1 || args.out.is_some() {
        return run_check_grid(args, &task, &widths, &precisions, &reduction);
    }
    let (width, precision) = (widths[0], precisions[0]);
    let source = check_source(args, width, &precision)?;
    let pb = spinner();
    let report = check_point(args, &source, &precision, &reduction, &|m| {
        pb.set_message(m)
    });
    pb.finish_and_clear();
    let report = report?;
    if let (Some(path), Some(w)) = (&args.witness_out, &report.witness) {
        let file = WitnessFile {
            ccsep_witness: WITNESS_VERSION,
            model: source.clone(),
            precision,
            task: report.task.clone(),
            n: report.n,
            x: w.x,
            x_prime: w.x_prime,
            y: w.y,
            y_prime: w.y_prime,
            expected: [w.f_x, w.f_x_prime],
            answers: [w.answer, w.answer],
        };
        let text = serde_json::to_string_pretty(&file).expect("witnesses serialise");
        // Writability was checked before the work; what fails now is the disk.
        std::fs::write(path, text)
            .with_context(|| format!("could not write witness file {}", path.display()))?;
    }
    if args.json {
        outln!("{}", report::check_json(&report));
    } else {
        out!("{}", report::check_table(&report));
    }
    Ok(EXIT_OK)
}

/// The check's `--task`; with `--construct`, the task the construction is built for when none
/// is given ([`construct::check_task`], which also refuses a construction that is no one-hot
/// token model, whatever the task).
fn check_task(args: &CheckArgs) -> Result<String, InputError> {
    let own = args
        .construct
        .as_deref()
        .map(construct::check_task)
        .transpose()?;
    // clap requires --task without --construct.
    Ok(args
        .task
        .clone()
        .or(own.map(str::to_string))
        .unwrap_or_default())
}

/// The check's `--precision`; with `--construct` and none given, the precision `ccsep
/// construct NAME --n N --seed S` reports (the construction is built here to learn it, and
/// again by the check at that precision).
fn check_precision(args: &CheckArgs) -> Result<String, InputError> {
    match (&args.precision, &args.construct) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(name)) => {
            let opts = ConstructOptions {
                n: args.n as usize,
                seed: args.seed,
                ..ConstructOptions::default()
            };
            construct::construct(name, &opts)?
                .report
                .precision
                .ok_or_else(|| {
                    InputError::new(format!(
                        "the construction {name} reports no precision: give one with --precision"
                    ))
                })
        }
        // clap requires --precision without --construct.
        (None, None) => Ok(String::new()),
    }
}

/// The key of a grid point in a results line: its settings, width and precision.
fn grid_key(config: &str, width: usize, precision: &str) -> String {
    format!("{config}|{width}|{precision}")
}

/// Everything but the axes that a grid point's result depends on, as one string: lines of a
/// results file written with other settings are not taken for this grid's points.
fn grid_config(args: &CheckArgs, task: &str) -> String {
    format!(
        "task={} n={} arch={:?} init={:?} weights={:?} construct={:?} seed={} layers={} outputs={} heads={:?} sample={:?}",
        task,
        args.n,
        args.arch,
        args.init,
        args.weights,
        args.construct,
        args.seed,
        args.layers,
        args.outputs,
        args.heads,
        args.sample
    )
}

/// `ccsep check` over widths × precisions: one JSON line per point (the check's JSON object plus
/// `"grid": {"width", "precision"}`), to stdout or appended to `--out`, which a rerun resumes.
/// A point that fails on its own (a size that will not fit) gets a line with `"error"`; the
/// others still run, and the exit code is then 2.
fn run_check_grid(
    args: &CheckArgs,
    task: &str,
    widths: &[usize],
    precisions: &[Precision],
    reduction: &Reduction,
) -> anyhow::Result<i32> {
    if args.witness_out.is_some() {
        return Err(InputError::new(
            "--witness-out writes one witness; a grid keeps each point's witness in its JSON line, so drop --witness-out",
        )
        .into());
    }
    if args.weights.is_some() && widths.len() > 1 {
        return Err(InputError::new(
            "--width ranges apply to random models; a --weights file has its own width",
        )
        .into());
    }
    let points: Vec<(usize, &Precision)> = widths
        .iter()
        .flat_map(|&w| precisions.iter().map(move |p| (w, p)))
        .collect();
    if points.len() > sweep::MAX_POINTS {
        return Err(InputError::new(format!(
            "the grid has {} widths x {} precisions = {} points, more than one run takes ({}); \
             split it into several runs over narrower --width or --precision ranges (the same \
             --out FILE collects them all)",
            widths.len(),
            precisions.len(),
            points.len(),
            sweep::MAX_POINTS
        ))
        .into());
    }
    // Sources are validated before any point runs.
    for &(w, p) in &points {
        check_source(args, w, p)?;
    }
    let config = grid_config(args, task);
    let key_of = |v: &serde_json::Value| {
        let g = v.get("grid")?;
        Some(grid_key(
            g.get("config")?.as_str()?,
            usize::try_from(g.get("width")?.as_u64()?).ok()?,
            g.get("precision")?.as_str()?,
        ))
    };
    let mut results = match &args.out {
        Some(path) => Some(sweep::Results::open(path, key_of)?),
        None => None,
    };
    let pb = spinner();
    let mut failed = false;
    let mut skipped = 0;
    for (i, &(width, precision)) in points.iter().enumerate() {
        let key = grid_key(&config, width, &precision.name());
        if results.as_ref().is_some_and(|r| r.is_done(&key)) {
            skipped += 1;
            continue;
        }
        let label = format!(
            "point {}/{}: width {width}, {}",
            i + 1,
            points.len(),
            precision.name()
        );
        pb.set_message(label.clone());
        let source = check_source(args, width, precision)?;
        let grid =
            serde_json::json!({"width": width, "precision": precision.name(), "config": config});
        let line = match check_point(args, &source, precision, reduction, &|m| {
            pb.set_message(format!("{label}: {m}"))
        }) {
            Ok(report) => {
                let mut v = serde_json::to_value(&report).expect("reports serialise");
                v["grid"] = grid;
                v
            }
            Err(e) => {
                failed = true;
                serde_json::json!({"grid": grid, "error": e.message})
            }
        };
        match &mut results {
            Some(r) => r.append(&line)?,
            None => outln!("{line}"),
        }
    }
    pb.finish_and_clear();
    if let Some(path) = &args.out {
        eprintln!(
            "{} points in {} ({skipped} were already there)",
            points.len(),
            path.display()
        );
    }
    Ok(if failed { EXIT_BAD_INPUT } else { EXIT_OK })
}
