//! The protocol-tree figure: the optimal protocol `ccsep cc --certify` writes (`protocol.json`)
//! drawn top-down — at each inner node who speaks and which of their inputs send 1, on each edge
//! the bit, at each leaf the answer and the rectangle of inputs that reach it. Leaves are evenly
//! spaced and every parent is centred over its two children; the depth is `D`.
//!
//! The tree is drawn as the certificate gives it; the figure checks that it fits its matrix
//! (inputs in range, depth as claimed) and computes `f` (every leaf's rectangle is of its
//! answer), since its title says so. Whether it is optimal is `ccsep verify`'s to check.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::matrix::{HINT, Inputs, read_certificate, sides};
use super::{Drawn, Figure, PALETTE, csv_field, render};
use crate::certificate::{Claim, ProtocolNode};
use crate::error::InputError;
use crate::problem::ProblemSpec;

/// Most leaves drawn: a leaf needs about 170 pixels for its answer and rectangle, so 32 leaves
/// already make a figure about 5000 pixels wide.
pub const MAX_LEAVES: usize = 32;

/// Most rows or columns of the matrix: every leaf lists the inputs that reach it.
const MAX_SIDE: u128 = 1 << 16;

/// Horizontal room per leaf and vertical room per level, in pixels.
const SLOT: i32 = 170;
const LEVEL: i32 = 120;
const TOP: i32 = 100;
const FONT: i32 = 16;

/// One node as drawn.
#[derive(Clone, Debug)]
struct Node {
    parent: Option<usize>,
    depth: u32,
    /// `alice`, `bob` or `leaf`.
    speaker: &'static str,
    /// The bit on the edge from the parent.
    bit: Option<u8>,
    /// Inner node: the inputs that send 1. Leaf: the answer.
    ones: Vec<u64>,
    output: Option<u8>,
    /// The rectangle of inputs reaching the node (rows, columns), ascending.
    rows: Vec<u64>,
    cols: Vec<u64>,
    /// Centre, in leaf slots.
    x: f64,
    /// Leaves below it.
    leaves: usize,
}

struct TreeFigure {
    spec: ProblemSpec,
    depth: u32,
    nodes: Vec<Node>,
}

/// Flattens the tree in preorder, each node with the rectangle that reaches it.
fn flatten(
    t: &ProtocolNode,
    parent: Option<usize>,
    bit: Option<u8>,
    depth: u32,
    rows: Vec<u64>,
    cols: Vec<u64>,
    out: &mut Vec<Node>,
) -> Result<(), InputError> {
    let me = out.len();
    let (speaker, ones, output) = match t {
        ProtocolNode::Leaf { output } => ("leaf", Vec::new(), Some(*output)),
        ProtocolNode::Alice { ones, .. } => ("alice", ones.clone(), None),
        ProtocolNode::Bob { ones, .. } => ("bob", ones.clone(), None),
    };
    out.push(Node {
        parent,
        depth,
        speaker,
        bit,
        ones,
        output,
        rows: rows.clone(),
        cols: cols.clone(),
        x: 0.0,
        leaves: 0,
    });
    if out.len() > 2 * MAX_LEAVES {
        return Err(too_many());
    }
    match t {
        ProtocolNode::Leaf { .. } => {}
        ProtocolNode::Alice { ones, zero, one } => {
            let ones: BTreeSet<u64> = ones.iter().copied().collect();
            let (r1, r0): (Vec<u64>, Vec<u64>) = rows.iter().partition(|x| ones.contains(x));
            flatten(zero, Some(me), Some(0), depth + 1, r0, cols.clone(), out)?;
            flatten(one, Some(me), Some(1), depth + 1, r1, cols, out)?;
        }
        ProtocolNode::Bob { ones, zero, one } => {
            let ones: BTreeSet<u64> = ones.iter().copied().collect();
            let (c1, c0): (Vec<u64>, Vec<u64>) = cols.iter().partition(|y| ones.contains(y));
            flatten(zero, Some(me), Some(0), depth + 1, rows.clone(), c0, out)?;
            flatten(one, Some(me), Some(1), depth + 1, rows, c1, out)?;
        }
    }
    Ok(())
}

fn too_many() -> InputError {
    InputError::new(format!(
        "the protocol tree has more than {MAX_LEAVES} leaves: the figure draws at most \
         {MAX_LEAVES} (each leaf needs about {SLOT} pixels for its answer and rectangle); \
         take a smaller n, or read protocol.dot with Graphviz"
    ))
}

/// Reads `protocol.json`, checks that the tree fits its matrix and lays it out.
fn read(files: &[PathBuf]) -> Result<TreeFigure, InputError> {
    let [file] = files else {
        return Err(InputError::new(format!(
            "the protocol-tree figure draws one protocol.json; {} files given",
            files.len()
        )));
    };
    let cert = read_certificate(file)?;
    let Claim::Protocol(p) = cert.claim else {
        return Err(InputError::new(format!(
            "'{}' is not a protocol certificate: the protocol-tree figure draws protocol.json; \
             {HINT}",
            file.display()
        )));
    };
    let spec = cert.problem;
    let (rows, cols) = spec.dims();
    if rows > MAX_SIDE || cols > MAX_SIDE {
        return Err(InputError::new(format!(
            "{} is {rows} x {cols}: the protocol-tree figure lists the inputs at each leaf and \
             takes at most {MAX_SIDE} rows and columns",
            spec.label()
        )));
    }
    let mut nodes = Vec::new();
    flatten(
        &p.tree,
        None,
        None,
        0,
        (0..rows as u64).collect(),
        (0..cols as u64).collect(),
        &mut nodes,
    )?;
    let mismatch = |what: String| {
        InputError::new(format!(
            "'{}' does not fit {}: {what} (forged, or for another matrix; `ccsep verify` checks \
             certificates)",
            file.display(),
            spec.label()
        ))
    };
    for n in &nodes {
        let side = if n.speaker == "alice" { rows } else { cols };
        if let Some(&i) = n.ones.iter().find(|&&i| u128::from(i) >= side) {
            return Err(mismatch(format!(
                "{}'s input {i} is outside the {side} {}",
                if n.speaker == "alice" { "Alice" } else { "Bob" },
                if n.speaker == "alice" {
                    "rows"
                } else {
                    "columns"
                }
            )));
        }
        if n.output.is_some_and(|o| o > 1) {
            return Err(mismatch("a leaf answers neither 0 nor 1".into()));
        }
    }
    // The title says the tree computes f: every leaf's rectangle must be of its answer.
    let m = spec.matrix()?;
    for n in nodes.iter().filter(|n| n.speaker == "leaf") {
        let want = n.output.unwrap_or(0);
        for &x in &n.rows {
            if let Some(&y) = n
                .cols
                .iter()
                .find(|&&y| u8::from(m.get(x as usize, y as usize)) != want)
            {
                return Err(mismatch(format!(
                    "a leaf answers {want} on (x = {x}, y = {y}), where f = {}",
                    1 - want
                )));
            }
        }
    }
    let depth = nodes.iter().map(|n| n.depth).max().unwrap_or(0);
    if depth != p.depth {
        return Err(mismatch(format!(
            "the tree is {depth} deep but the certificate claims depth {}",
            p.depth
        )));
    }
    place(&mut nodes);
    Ok(TreeFigure { spec, depth, nodes })
}

/// Leaves at 0, 1, 2, … in order; each parent at the midpoint of its two children.
fn place(nodes: &mut [Node]) {
    let mut next = 0.0;
    for n in nodes.iter_mut() {
        if n.speaker == "leaf" {
            n.x = next;
            n.leaves = 1;
            next += 1.0;
        }
    }
    // Preorder: children come after their parent, so a reverse pass sees children first.
    for i in (0..nodes.len()).rev() {
        if nodes[i].speaker == "leaf" {
            continue;
        }
        let kids: Vec<usize> = (i + 1..nodes.len())
            .filter(|&k| nodes[k].parent == Some(i))
            .collect();
        nodes[i].x = kids.iter().map(|&k| nodes[k].x).sum::<f64>() / kids.len() as f64;
        nodes[i].leaves = kids.iter().map(|&k| nodes[k].leaves).sum();
    }
}

/// Width of `s` at `font` pixels, estimated (DejaVu Sans averages about half an em on these
/// labels; a little more is allowed).
fn width(s: &str, font: i32) -> i32 {
    (s.chars().count() as f64 * 0.55 * font as f64).ceil() as i32
}

/// `{a, b, c}` when it fits in `room` pixels at `font`, else as many as fit then `…` and the
/// count.
fn set(items: &[u64], inputs: Inputs, room: i32, font: i32) -> String {
    let all: Vec<String> = items.iter().map(|&i| inputs.write(i)).collect();
    let full = format!("{{{}}}", all.join(", "));
    let fits = |s: &str| width(s, font) <= room;
    if fits(&full) {
        return full;
    }
    for k in (0..all.len()).rev() {
        let s = format!("{{{}, …}} ({} inputs)", all[..k].join(", "), all.len());
        let s = if k == 0 {
            format!("{} inputs", all.len())
        } else {
            s
        };
        if fits(&s) || k == 0 {
            return s;
        }
    }
    full
}

impl TreeFigure {
    fn names(&self) -> [(Inputs, &'static str); 2] {
        sides(&self.spec)
    }

    /// A node's text in full (the CSV's label).
    fn label(&self, n: &Node, room: Option<i32>, font: i32) -> Vec<String> {
        let [(ri, rname), (ci, cname)] = self.names();
        let room = room.unwrap_or(i32::MAX);
        let w = |items: &[u64], inputs: Inputs, prefix: &str| {
            format!(
                "{prefix}{}",
                set(items, inputs, room - width(prefix, font), font)
            )
        };
        let (rows, cols) = self.spec.dims();
        // A leaf's side: every input, the few it excludes, or those it holds.
        let any = |items: &[u64], all: u128, inputs: Inputs, name: &str| {
            if items.len() as u128 == all && all > 1 {
                format!("{name}: any of {all}")
            } else if 2 * items.len() as u128 > all {
                let out: Vec<u64> = (0..all as u64)
                    .filter(|i| items.binary_search(i).is_err())
                    .collect();
                w(&out, inputs, &format!("{name} ∉ "))
            } else {
                w(items, inputs, &format!("{name} ∈ "))
            }
        };
        match n.speaker {
            "leaf" => vec![
                format!("output {}", n.output.unwrap_or(0)),
                any(&n.rows, rows, ri, rname),
                any(&n.cols, cols, ci, cname),
            ],
            who => {
                let (inputs, name, speaker) = if who == "alice" {
                    (ri, rname, "Alice")
                } else {
                    (ci, cname, "Bob")
                };
                vec![
                    speaker.to_string(),
                    w(&n.ones, inputs, &format!("1 iff {name} ∈ ")),
                ]
            }
        }
    }

    /// `id,parent,depth,speaker,bit,label`: one row per node in preorder (root 0, no parent);
    /// the label in full.
    fn csv(&self) -> String {
        let mut s = String::from("id,parent,depth,speaker,bit,label\n");
        for (i, n) in self.nodes.iter().enumerate() {
            s.push_str(&format!(
                "{i},{},{},{},{},{}\n",
                n.parent.map(|p| p.to_string()).unwrap_or_default(),
                n.depth,
                n.speaker,
                n.bit.map(|b| b.to_string()).unwrap_or_default(),
                csv_field(&self.label(n, None, FONT).join("; "))
            ));
        }
        s
    }

    fn leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.speaker == "leaf").count()
    }

    fn size(&self) -> (u32, u32) {
        let w = (self.leaves() as i32 * SLOT + 2 * 40).max(900);
        let h = TOP + self.depth as i32 * LEVEL + 110;
        (w as u32, h as u32)
    }

    /// The pixel centre of node `n`'s top edge.
    fn at(&self, n: &Node) -> (i32, i32) {
        let (w, _) = self.size();
        let used = self.leaves() as i32 * SLOT;
        let left = (w as i32 - used) / 2;
        (
            left + (n.x * SLOT as f64) as i32 + SLOT / 2,
            TOP + n.depth as i32 * LEVEL,
        )
    }
}

const ALICE: RGBColor = PALETTE[0];
const BOB: RGBColor = PALETTE[1];
const ONE: RGBColor = RGBColor(70, 70, 70);
const ZERO: RGBColor = RGBColor(232, 232, 232);

impl Figure for TreeFigure {
    fn draw<DB: DrawingBackend>(&self, root: DrawingArea<DB, Shift>) -> Result<(), String>
    where
        DB::ErrorType: 'static,
    {
        let e = |x: &dyn std::fmt::Display| x.to_string();
        root.fill(&WHITE).map_err(|x| e(&x))?;
        let text = |s: &str, at: (i32, i32), size: i32, pos: Pos, color: RGBColor| {
            root.draw(&Text::new(
                s.to_string(),
                at,
                ("sans-serif", size).into_font().color(&color).pos(pos),
            ))
            .map_err(|x| e(&x))
        };
        let centre = Pos::new(HPos::Center, VPos::Center);
        let left_top = Pos::new(HPos::Left, VPos::Top);
        text(
            &format!(
                "An optimal protocol tree for {}: depth D = {} bits, {} leaves",
                self.spec.label(),
                self.depth,
                self.leaves()
            ),
            (24, 16),
            26,
            left_top,
            BLACK,
        )?;
        let [(_, rname), (_, cname)] = self.names();
        text(
            &format!(
                "orange: Alice speaks (she holds {rname}), blue: Bob speaks (he holds {cname}); \
                 edges: the bit sent; leaves: the answer and the inputs that reach them"
            ),
            (24, 48),
            17,
            left_top,
            RGBColor(60, 60, 60),
        )?;
        let box_h = |n: &Node| if n.speaker == "leaf" { 3 } else { 2 } * (FONT + 4) + 8;
        // Edges first, under the boxes.
        for n in &self.nodes {
            if let Some(p) = n.parent {
                let parent = &self.nodes[p];
                let (px, py) = self.at(parent);
                let (cx, cy) = self.at(n);
                let from = (px, py + box_h(parent));
                root.draw(&PathElement::new(
                    vec![from, (cx, cy)],
                    BLACK.stroke_width(2),
                ))
                .map_err(|x| e(&x))?;
                let mid = ((from.0 + cx) / 2, (from.1 + cy) / 2);
                let side = if n.bit == Some(0) { -14 } else { 14 };
                root.draw(&Circle::new((mid.0 + side, mid.1), 10, WHITE.filled()))
                    .map_err(|x| e(&x))?;
                text(
                    &n.bit.unwrap_or(0).to_string(),
                    (mid.0 + side, mid.1),
                    16,
                    centre,
                    BLACK,
                )?;
            }
        }
        for n in &self.nodes {
            let (cx, top) = self.at(n);
            let room = if n.speaker == "leaf" {
                SLOT - 16
            } else {
                (n.leaves as i32 * SLOT - 24).min(3 * SLOT)
            };
            let lines = self.label(n, Some(room), FONT);
            let widest = lines.iter().map(|l| width(l, FONT)).max().unwrap_or(0);
            let half = (widest / 2 + 10).min(room / 2 + 6);
            let h = box_h(n);
            let (fill, ink) = match (n.speaker, n.output) {
                ("alice", _) => (ALICE.mix(0.35), BLACK),
                ("bob", _) => (BOB.mix(0.35), BLACK),
                (_, Some(1)) => (ONE.mix(1.0), WHITE),
                _ => (ZERO.mix(1.0), BLACK),
            };
            root.draw(&Rectangle::new(
                [(cx - half, top), (cx + half, top + h)],
                WHITE.filled(),
            ))
            .map_err(|x| e(&x))?;
            root.draw(&Rectangle::new(
                [(cx - half, top), (cx + half, top + h)],
                fill.filled(),
            ))
            .map_err(|x| e(&x))?;
            root.draw(&Rectangle::new(
                [(cx - half, top), (cx + half, top + h)],
                BLACK.stroke_width(1),
            ))
            .map_err(|x| e(&x))?;
            for (k, line) in lines.iter().enumerate() {
                let size = if k == 0 { FONT + 1 } else { FONT };
                text(
                    line,
                    (cx, top + 6 + k as i32 * (FONT + 4) + (FONT + 4) / 2),
                    size,
                    centre,
                    ink,
                )?;
            }
        }
        root.present().map_err(|x| e(&x))?;
        Ok(())
    }
}

/// Draws the protocol-tree figure from `protocol.json` into `dir` as `protocol-tree.svg`,
/// `.png` and `.csv`.
pub fn protocol_tree(files: &[PathBuf], dir: &Path) -> anyhow::Result<(Drawn, usize)> {
    let fig = read(files)?;
    let drawn = render(dir, "protocol-tree", fig.size(), &fig, &fig.csv())?;
    Ok((drawn, 0))
}
