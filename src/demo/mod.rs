//! `ccsep demo NAME`: guided walk-throughs a lecturer runs in class, one file per demo. Each
//! demo computes everything it shows with the library when it runs — measures and their
//! certificates, protocol trees, models run as protocols, the paper's constructions — and
//! returns a [`term::Walkthrough`]: steps of plain prose and drawings, then a question for the
//! students and its answer. [`run`] shows it one step at a time on the terminal (waiting for
//! Enter where a person is there to press it) or writes it as a Markdown handout.
//!
//! This is front-end code at the layer of `report`: it may use `app` and everything below it,
//! and nothing below uses it. Refusals (a size too large to show readably, a flag the demo does
//! not take, an output file that cannot be written) come before any computation.

pub mod dyck;
pub mod fooling;
pub mod index_lookup;
pub mod pigeonhole;
pub mod protocol;
pub mod rank;
pub mod term;

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::app::Spell;
use crate::app::files::check_output_file;
use crate::error::{EXIT_OK, InputError, Setting};
use term::{Pacer, Screen, Walkthrough};

/// The demos, in the order `ccsep demo --list` gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demo {
    Pigeonhole,
    Fooling,
    Rank,
    Protocol,
    Dyck,
    IndexLookup,
}

/// The sizes a demo shows readably: `n` from `min` to `max` (even only, where `even`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub default: u32,
    pub min: u32,
    pub max: u32,
    pub even: bool,
    /// What `n` is, in words.
    pub what: &'static str,
}

impl Demo {
    pub const ALL: [Demo; 6] = [
        Demo::Pigeonhole,
        Demo::Fooling,
        Demo::Rank,
        Demo::Protocol,
        Demo::Dyck,
        Demo::IndexLookup,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Demo::Pigeonhole => "pigeonhole",
            Demo::Fooling => "fooling",
            Demo::Rank => "rank",
            Demo::Protocol => "protocol",
            Demo::Dyck => "dyck",
            Demo::IndexLookup => "index-lookup",
        }
    }

    /// What it shows, in one line.
    pub fn summary(self) -> &'static str {
        match self {
            Demo::Pigeonhole => {
                "a small RNN on INDEX: more inputs than states, a colliding pair, the wrong answer"
            }
            Demo::Fooling => "the EQ matrix, a fooling set on it, and why it forces n + 1 bits",
            Demo::Rank => "the rank lower bound beside the one-way bound, INDEX and friends",
            Demo::Protocol => "an optimal protocol tree for GT, walked down for one input pair",
            Demo::Dyck => {
                "Dyck-(2,2): a 13-unit ReLU RNN, and a 1-layer Transformer fooled by Lemma 1"
            }
            Demo::IndexLookup => {
                "Thm 1: attention lands on the queried position; O(log N) width beside N"
            }
        }
    }

    /// The sizes it takes.
    pub fn sizes(self) -> Sizes {
        let s = |default, min, max, what| Sizes {
            default,
            min,
            max,
            even: false,
            what,
        };
        match self {
            // m·p = 3 bits of state: fewer states than inputs from n = 4 on.
            Demo::Pigeonhole => s(4, 4, 6, "the INDEX length (Alice's bits)"),
            Demo::Fooling => s(3, 1, 5, "bits per party of EQ"),
            Demo::Rank => s(4, 2, 5, "bits per party"),
            Demo::Protocol => s(2, 1, 3, "bits per party of GT"),
            Demo::Dyck => Sizes {
                even: true,
                ..s(8, 4, 8, "the string length N")
            },
            Demo::IndexLookup => s(8, 2, 12, "the string length N"),
        }
    }
}

impl std::str::FromStr for Demo {
    type Err = InputError;

    fn from_str(name: &str) -> Result<Self, InputError> {
        Demo::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                InputError::new(format!(
                    "unknown demo {name:?}: the demos are {} (ccsep demo lists what each shows)",
                    Demo::ALL.map(Demo::name).join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `ccsep demo` is asked for.
#[derive(Clone, Debug)]
pub struct DemoRequest {
    /// `None`: list the demos.
    pub demo: Option<Demo>,
    pub n: Option<u32>,
    /// The input pair the protocol demo follows.
    pub x: Option<u64>,
    pub y: Option<u64>,
    pub answers: bool,
    pub no_pause: bool,
    pub no_color: bool,
    pub markdown: Option<PathBuf>,
    pub witness_out: Option<PathBuf>,
    /// How notes and errors spell a setting (the CLI: its flag).
    pub spell: Spell,
}

/// What a demo is built from: the size and the options that reach the demos.
#[derive(Clone, Debug)]
pub struct Options {
    pub n: u32,
    pub x: Option<u64>,
    pub y: Option<u64>,
    pub witness_out: Option<PathBuf>,
    pub spell: Spell,
}

/// The list `ccsep demo` prints with no name.
pub fn listing() -> String {
    let mut out = String::from("The demos (ccsep demo NAME):\n\n");
    for d in Demo::ALL {
        let s = d.sizes();
        out.push_str(&format!(
            "  {:<13} {} [n {}..{}, default {}]\n",
            d.name(),
            d.summary(),
            s.min,
            s.max,
            s.default
        ));
    }
    out.push_str(
        "\nEach waits for Enter between steps on a terminal (--no-pause to run straight \
         through), ends with a question (--answers adds its answer), and --markdown FILE \
         writes it as a handout.\n",
    );
    out
}

/// Refuses what can be refused before any work: a size out of range (with the range), a flag
/// the demo does not take, an output file that cannot be written.
fn refuse_early(demo: Demo, req: &DemoRequest) -> Result<Options, InputError> {
    let s = demo.sizes();
    let n = req.n.unwrap_or(s.default);
    if n < s.min || n > s.max || (s.even && n % 2 == 1) {
        let even = if s.even { ", even" } else { "" };
        let why = if n > s.max {
            format!("too large to show readably; the largest is {}", s.max)
        } else if n < s.min {
            format!("too small for this demo; the smallest is {}", s.min)
        } else {
            "odd: Dyck strings of odd length are never balanced".to_string()
        };
        return Err(InputError::new(format!(
            "{} {n}: {why} ({} of the {demo} demo: {}..{}{even})",
            Setting::N,
            s.what,
            s.min,
            s.max
        )));
    }
    if demo != Demo::Protocol && (req.x.is_some() || req.y.is_some()) {
        return Err(InputError::new(format!(
            "{} and {} choose the input pair of the protocol demo; the {demo} demo takes neither",
            Setting::X,
            Setting::Y
        )));
    }
    if let Some(path) = &req.witness_out {
        if !matches!(demo, Demo::Pigeonhole | Demo::Dyck) {
            return Err(InputError::new(format!(
                "{}: only the pigeonhole and dyck demos find a witness to write",
                Setting::WitnessOut
            )));
        }
        check_output_file(path, Setting::WitnessOut)?;
    }
    if let Some(path) = &req.markdown {
        check_output_file(path, Setting::Markdown)?;
    }
    Ok(Options {
        n,
        x: req.x,
        y: req.y,
        witness_out: req.witness_out.clone(),
        spell: req.spell,
    })
}

/// Builds demo `demo`'s walk-through (all its computation).
pub fn build(demo: Demo, o: &Options) -> anyhow::Result<Walkthrough> {
    match demo {
        Demo::Pigeonhole => pigeonhole::build(o),
        Demo::Fooling => fooling::build(o),
        Demo::Rank => rank::build(o),
        Demo::Protocol => protocol::build(o),
        Demo::Dyck => dyck::build(o),
        Demo::IndexLookup => index_lookup::build(o),
    }
}

/// Runs `ccsep demo`: the list, a walk-through shown step by step on standard output, or the
/// Markdown handout written. Returns the exit code.
pub fn run(req: &DemoRequest) -> anyhow::Result<i32> {
    let mut stdout = std::io::stdout().lock();
    let Some(demo) = req.demo else {
        return finish(stdout.write_all(listing().as_bytes()));
    };
    let options = refuse_early(demo, req)?;
    let screen = Screen::detect(req.no_color);
    let walk = build(demo, &options)?;
    if let Some(path) = &req.markdown {
        let text = term::markdown(&walk, screen.width, req.answers);
        std::fs::write(path, text)
            .with_context(|| format!("could not write the handout {}", path.display()))?;
        return finish(writeln!(
            stdout,
            "wrote the {demo} walk-through ({} steps{}) to {}",
            walk.steps.len(),
            if req.answers { ", with the answer" } else { "" },
            path.display()
        ));
    }
    let pacer = Pacer::detect(req.no_pause);
    finish(present(&walk, &screen, &pacer, req.answers, &mut stdout))
}

/// Shows the walk-through, pausing after each step; `q` at a pause stops it.
fn present(
    walk: &Walkthrough,
    screen: &Screen,
    pacer: &Pacer,
    answers: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    out.write_all(screen.heading(walk).as_bytes())?;
    for i in 0..walk.steps.len() {
        out.write_all(screen.step(walk, i).as_bytes())?;
        out.flush()?;
        if !pacer.wait(screen, out)? {
            return Ok(());
        }
    }
    out.write_all(screen.ending(walk, answers).as_bytes())?;
    out.flush()
}

/// The exit code of a finished write: a reader that went away (`ccsep demo … | head`) ends the
/// run quietly, as the other subcommands do.
fn finish(written: std::io::Result<()>) -> anyhow::Result<i32> {
    match written {
        Ok(()) => Ok(EXIT_OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(anyhow::Error::new(e).context("could not write to standard output")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(demo: Demo, n: u32) -> DemoRequest {
        DemoRequest {
            demo: Some(demo),
            n: Some(n),
            x: None,
            y: None,
            answers: false,
            no_pause: true,
            no_color: true,
            markdown: None,
            witness_out: None,
            spell: |s| s.name().to_string(),
        }
    }

    #[test]
    fn sizes_out_of_range_are_refused_with_the_range() {
        for d in Demo::ALL {
            let s = d.sizes();
            let e = refuse_early(d, &request(d, s.max + 1)).unwrap_err();
            assert!(
                e.to_string().contains(&format!("the largest is {}", s.max)),
                "{e}"
            );
            if s.min > 0 {
                assert!(refuse_early(d, &request(d, s.min - 1)).is_err());
            }
            assert_eq!(
                refuse_early(d, &request(d, s.default)).unwrap().n,
                s.default
            );
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_them_all() {
        for d in Demo::ALL {
            assert_eq!(d.name().parse::<Demo>().unwrap(), d);
        }
        let e = "nope".parse::<Demo>().unwrap_err().to_string();
        for d in Demo::ALL {
            assert!(e.contains(d.name()), "{e}");
        }
    }
}
