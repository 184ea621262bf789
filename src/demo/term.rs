//! The terminal side of the demos: a walk-through as data (steps of prose and drawings), shown
//! on a terminal — in colour or not, prose wrapped to its width, a drawing too wide for it
//! replaced by a note that says so — or written as a Markdown handout; the drawings the demos
//! share (a 0/1 matrix, a table, a row of attention weights); and the pause between steps.
//!
//! A drawing carries its meaning in its glyphs, so it reads the same without colour: colour
//! only repeats what a glyph already says (a highlighted entry is `◆`, and yellow).

use std::io::{self, BufRead, IsTerminal, Write};

use anstyle::{Ansi256Color, AnsiColor, Color};
use unicode_width::UnicodeWidthStr;

/// What a piece of text is, which the terminal shows as a colour (and plain text not at all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Dim,
    Bold,
    /// Alice's side: her inputs, her positions.
    Alice,
    /// Bob's side.
    Bob,
    /// What the step points at (a fooling set, a colliding pair, the queried position).
    Mark,
    /// Right answers, accepted checks.
    Good,
    /// Wrong answers, collisions.
    Bad,
    /// One of five levels (0 … 4) of a heat row.
    Heat(u8),
}

impl Tone {
    fn style(self) -> anstyle::Style {
        let s = anstyle::Style::new();
        let fg = |c: AnsiColor| s.fg_color(Some(Color::Ansi(c)));
        match self {
            Tone::Plain => s,
            Tone::Dim => s.dimmed(),
            Tone::Bold => s.bold(),
            Tone::Alice => fg(AnsiColor::Cyan),
            Tone::Bob => fg(AnsiColor::Magenta),
            Tone::Mark => fg(AnsiColor::Yellow).bold(),
            Tone::Good => fg(AnsiColor::Green).bold(),
            Tone::Bad => fg(AnsiColor::Red).bold(),
            Tone::Heat(level) => {
                const RAMP: [u8; 5] = [240, 246, 252, 220, 196];
                s.fg_color(Some(Color::Ansi256(Ansi256Color(
                    RAMP[usize::from(level.min(4))],
                ))))
            }
        }
    }
}

/// A run of text in one tone.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub text: String,
    pub tone: Tone,
}

/// One line of a drawing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line(pub Vec<Span>);

impl Line {
    pub fn new() -> Self {
        Line(Vec::new())
    }

    /// A line of plain text.
    pub fn plain(text: impl Into<String>) -> Self {
        let mut l = Line::new();
        l.push(text, Tone::Plain);
        l
    }

    /// Appends `text` in `tone`.
    pub fn push(&mut self, text: impl Into<String>, tone: Tone) -> &mut Self {
        self.0.push(Span {
            text: text.into(),
            tone,
        });
        self
    }

    /// Appends every span of `other`.
    pub fn extend(&mut self, other: Line) -> &mut Self {
        self.0.extend(other.0);
        self
    }

    /// Columns the line takes on a terminal.
    pub fn width(&self) -> usize {
        self.0.iter().map(|s| s.text.width()).sum()
    }

    fn text(&self) -> String {
        self.0.iter().map(|s| s.text.as_str()).collect()
    }
}

/// A drawing, in one or more variants, widest first: the screen shows the first that fits.
#[derive(Clone, Debug, PartialEq)]
pub struct Art {
    /// What it shows, for the note that replaces it where no variant fits.
    pub what: String,
    pub variants: Vec<Vec<Line>>,
}

impl Art {
    pub fn new(what: impl Into<String>, lines: Vec<Line>) -> Self {
        Art {
            what: what.into(),
            variants: vec![lines],
        }
    }

    /// The widest variant no wider than `width` columns.
    fn fit(&self, width: usize) -> Option<&[Line]> {
        self.variants
            .iter()
            .find(|v| v.iter().map(Line::width).max().unwrap_or(0) <= width)
            .map(Vec::as_slice)
    }

    /// Columns the narrowest variant needs.
    fn narrowest(&self) -> usize {
        self.variants
            .iter()
            .map(|v| v.iter().map(Line::width).max().unwrap_or(0))
            .min()
            .unwrap_or(0)
    }
}

/// A piece of a step: a paragraph (a `\n` in it starts a new line), or a drawing.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    Text(String),
    Art(Art),
}

/// One step: what the lecturer says, and what the students look at.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Step {
    pub fn new(title: impl Into<String>) -> Self {
        Step {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text(text.into()));
        self
    }

    pub fn art(mut self, art: Art) -> Self {
        self.blocks.push(Block::Art(art));
        self
    }
}

/// A whole walk-through: its steps, then a question for the students and its answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Walkthrough {
    /// The demo's name (`pigeonhole`).
    pub name: &'static str,
    pub title: String,
    pub steps: Vec<Step>,
    pub question: String,
    pub answer: String,
}

/// Where a walk-through is shown: how wide, and whether in colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Screen {
    pub width: usize,
    pub color: bool,
}

/// Narrowest width prose is wrapped to, whatever the terminal says.
const MIN_WIDTH: usize = 20;
/// Width when neither `COLUMNS` nor the terminal says.
const DEFAULT_WIDTH: usize = 80;
/// Widest width used, whatever `COLUMNS` says: a rule or a wrapped line wider than any screen
/// is only bytes (`COLUMNS=100000` wrote 1.8 MB of rules).
const MAX_WIDTH: usize = 400;

impl Screen {
    /// Standard output's screen: its width from `COLUMNS` (a positive number), else the
    /// terminal's own (standard output's, else standard error's or input's), else 80, kept
    /// within 20 ..= 400; colour unless `no_color`, a non-empty `NO_COLOR`, or an output
    /// that is not a terminal (`CLICOLOR_FORCE` set and not `0` asks for colour anyway, as
    /// other tools read it; `NO_COLOR` still wins).
    pub fn detect(no_color: bool) -> Screen {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let width = env("COLUMNS")
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
            .or_else(|| {
                // Standard output first; where it is a pipe (`ccsep demo … | less -R`), the
                // terminal the other streams are attached to.
                terminal_size::terminal_size_of(io::stdout())
                    .or_else(|| terminal_size::terminal_size_of(io::stderr()))
                    .or_else(|| terminal_size::terminal_size_of(io::stdin()))
                    .map(|(w, _)| usize::from(w.0))
            })
            .unwrap_or(DEFAULT_WIDTH)
            .clamp(MIN_WIDTH, MAX_WIDTH);
        let forced = env("CLICOLOR_FORCE").is_some_and(|v| v != "0");
        let color =
            !no_color && env("NO_COLOR").is_none() && (forced || io::stdout().is_terminal());
        Screen { width, color }
    }

    fn paint(&self, span: &Span) -> String {
        if !self.color || span.tone == Tone::Plain {
            return span.text.clone();
        }
        let style = span.tone.style();
        format!("{}{}{}", style.render(), span.text, style.render_reset())
    }

    fn line(&self, line: &Line) -> String {
        line.0.iter().map(|s| self.paint(s)).collect()
    }

    fn rule(&self, title: &str) -> String {
        let head = format!("━━ {title} ");
        let fill = self.width.saturating_sub(head.width());
        self.paint(&Span {
            text: format!("{head}{}", "━".repeat(fill)),
            tone: Tone::Bold,
        })
    }

    /// The walk-through's heading.
    pub fn heading(&self, w: &Walkthrough) -> String {
        let mut out = self.rule(&format!("ccsep demo {}", w.name));
        out.push('\n');
        for l in wrap(&w.title, self.width) {
            out.push_str(&self.paint(&Span {
                text: l,
                tone: Tone::Bold,
            }));
            out.push('\n');
        }
        out
    }

    /// Step `i` (from 0) as the terminal shows it.
    pub fn step(&self, w: &Walkthrough, i: usize) -> String {
        let s = &w.steps[i];
        let mut out = String::from("\n");
        out.push_str(&self.rule(&format!("step {} of {}: {}", i + 1, w.steps.len(), s.title)));
        out.push('\n');
        for b in &s.blocks {
            out.push('\n');
            match b {
                Block::Text(t) => {
                    for l in wrap(t, self.width) {
                        out.push_str(&l);
                        out.push('\n');
                    }
                }
                Block::Art(a) => match a.fit(self.width) {
                    Some(lines) => {
                        for l in lines {
                            out.push_str(self.line(l).trim_end());
                            out.push('\n');
                        }
                    }
                    None => {
                        let note = format!(
                            "[{} is not drawn: it needs {} columns and this terminal has {}; \
                             widen the terminal (or set COLUMNS), or choose a smaller size]",
                            a.what,
                            a.narrowest(),
                            self.width
                        );
                        for l in wrap(&note, self.width) {
                            out.push_str(&self.paint(&Span {
                                text: l,
                                tone: Tone::Dim,
                            }));
                            out.push('\n');
                        }
                    }
                },
            }
        }
        out
    }

    /// The closing question, and its answer when `answers`.
    pub fn ending(&self, w: &Walkthrough, answers: bool) -> String {
        let mut out = String::from("\n");
        out.push_str(&self.rule("question for the students"));
        out.push_str("\n\n");
        for l in wrap(&w.question, self.width) {
            out.push_str(&l);
            out.push('\n');
        }
        if answers {
            out.push('\n');
            out.push_str(&self.rule("answer"));
            out.push_str("\n\n");
            for l in wrap(&w.answer, self.width) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out
    }
}

/// `text` wrapped greedily at spaces to `width` columns; each `\n` starts a new line, and a
/// line's leading spaces are kept as its indent (on its continuation lines too). A word
/// longer than the width stands alone on its line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let indent: String = para.chars().take_while(|c| *c == ' ').collect();
        let mut line = indent.clone();
        let mut empty = true;
        for word in para.split_whitespace() {
            let fits = line.width() + 1 + word.width() <= width;
            if empty {
                line.push_str(word);
                empty = false;
            } else if fits {
                line.push(' ');
                line.push_str(word);
            } else {
                out.push(std::mem::replace(&mut line, format!("{indent}{word}")));
            }
        }
        out.push(line);
    }
    out
}

/// The walk-through as a Markdown handout: the same steps, prose as paragraphs, every drawing
/// in a code fence (the variant that fits `width` columns), no colour.
pub fn markdown(w: &Walkthrough, width: usize, answers: bool) -> String {
    let prose = |t: &str| {
        t.split('\n')
            .map(|l| l.trim().replace('_', "\\_").replace('*', "\\*"))
            .collect::<Vec<_>>()
            .join("  \n")
    };
    let mut out = format!(
        "# ccsep demo {}\n\n**{}**\n\nThe walk-through `ccsep demo {}` presents, step by step; every number in it was computed by ccsep when this handout was written.\n",
        w.name, w.title, w.name
    );
    for (i, s) in w.steps.iter().enumerate() {
        out.push_str(&format!(
            "\n## Step {} of {}: {}\n",
            i + 1,
            w.steps.len(),
            s.title
        ));
        for b in &s.blocks {
            out.push('\n');
            match b {
                Block::Text(t) => {
                    out.push_str(&prose(t));
                    out.push('\n');
                }
                Block::Art(a) => match a.fit(width) {
                    Some(lines) => {
                        out.push_str("```text\n");
                        for l in lines {
                            out.push_str(l.text().trim_end());
                            out.push('\n');
                        }
                        out.push_str("```\n");
                    }
                    None => out.push_str(&format!(
                        "*({} is not drawn: it needs {} columns, more than {width}.)*\n",
                        a.what,
                        a.narrowest()
                    )),
                },
            }
        }
    }
    out.push_str(&format!(
        "\n## Question for the students\n\n{}\n",
        prose(&w.question)
    ));
    if answers {
        out.push_str(&format!("\n## Answer\n\n{}\n", prose(&w.answer)));
    }
    out
}

/// The pause between steps: it waits for Enter only when asked to and both standard input and
/// standard output are terminals (a recording or a pipe never waits).
pub struct Pacer {
    pub pause: bool,
}

impl Pacer {
    /// Pauses only where a person is at the terminal, unless `no_pause`.
    pub fn detect(no_pause: bool) -> Pacer {
        Pacer {
            pause: !no_pause && io::stdin().is_terminal() && io::stdout().is_terminal(),
        }
    }

    /// Waits for Enter after a step; `false` when the lecturer typed `q` (stop here). End of
    /// input reads as Enter.
    pub fn wait(&self, screen: &Screen, out: &mut dyn Write) -> io::Result<bool> {
        if !self.pause {
            return Ok(true);
        }
        let prompt = Span {
            text: "  [Enter: next step · q Enter: stop]".into(),
            tone: Tone::Dim,
        };
        write!(out, "{}", screen.paint(&prompt))?;
        out.flush()?;
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        Ok(answer.trim() != "q")
    }
}

/// How an entry of a drawn matrix is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    Normal,
    /// Pointed at: `◆` for a 1, `◇` for a 0.
    Highlight,
    /// Outside what is still possible: `░` for a 1, blank for a 0.
    Faded,
}

/// The glyph and tone of an entry of value `v` marked `mark`.
fn cell(v: bool, mark: Mark) -> (&'static str, Tone) {
    match (mark, v) {
        (Mark::Normal, true) => ("█", Tone::Plain),
        (Mark::Normal, false) => ("·", Tone::Dim),
        (Mark::Highlight, true) => ("◆", Tone::Mark),
        (Mark::Highlight, false) => ("◇", Tone::Mark),
        (Mark::Faded, true) => ("░", Tone::Dim),
        (Mark::Faded, false) => (" ", Tone::Plain),
    }
}

/// A 0/1 matrix: `rows` labels on the left (Alice's inputs), `cols` labels written down the
/// columns (Bob's), entry `(r, c)` from `value` and marked by `mark`. Two variants: two columns
/// per entry, then one.
pub fn matrix(
    what: &str,
    rows: &[String],
    cols: &[String],
    value: &dyn Fn(usize, usize) -> bool,
    mark: &dyn Fn(usize, usize) -> Mark,
) -> Art {
    let label_w = rows.iter().map(|r| r.width()).max().unwrap_or(0);
    let col_h = cols.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    let variant = |gap: &str| {
        let mut lines = Vec::new();
        for k in 0..col_h {
            let mut l = Line::new();
            l.push(" ".repeat(label_w + 1), Tone::Plain);
            for c in cols {
                let ch = c.chars().nth(k).map_or(" ".to_string(), String::from);
                l.push(ch, Tone::Bob);
                l.push(gap, Tone::Plain);
            }
            lines.push(l);
        }
        for (r, label) in rows.iter().enumerate() {
            let mut l = Line::new();
            l.push(format!("{label:>label_w$} "), Tone::Alice);
            for c in 0..cols.len() {
                let (g, tone) = cell(value(r, c), mark(r, c));
                l.push(g, tone);
                l.push(gap, Tone::Plain);
            }
            lines.push(l);
        }
        lines
    };
    Art {
        what: what.to_string(),
        variants: vec![variant(" "), variant("")],
    }
}

/// A table: a bold header, a rule, and rows of cells (each a span), columns padded to their
/// widest cell; numbers are best right-aligned by the caller.
pub fn table(what: &str, header: &[&str], rows: &[Vec<Span>]) -> Art {
    let cols = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in rows {
        for (i, s) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(s.text.width());
        }
    }
    let pad = |text: &str, w: usize| format!("{text}{}", " ".repeat(w - text.width()));
    let mut lines = Vec::new();
    let mut h = Line::new();
    for (i, t) in header.iter().enumerate() {
        h.push(pad(t, widths[i]), Tone::Bold);
        h.push("  ", Tone::Plain);
    }
    lines.push(h);
    let total: usize = widths.iter().sum::<usize>() + 2 * (cols - 1);
    lines.push(Line(vec![Span {
        text: "─".repeat(total),
        tone: Tone::Dim,
    }]));
    for r in rows {
        let mut l = Line::new();
        for (i, s) in r.iter().enumerate().take(cols) {
            l.push(pad(&s.text, widths[i]), s.tone);
            l.push("  ", Tone::Plain);
        }
        lines.push(l);
    }
    Art::new(what, lines)
}

/// A span (for table cells).
pub fn span(text: impl Into<String>, tone: Tone) -> Span {
    Span {
        text: text.into(),
        tone,
    }
}

/// The glyph and level of a weight in `[0, 1]`: `·` for 0, then `░ ▒ ▓ █` for up to a
/// quarter, a half, three quarters, and more.
pub fn heat(w: f64) -> (&'static str, u8) {
    if w <= 0.0 {
        ("·", 0)
    } else if w <= 0.25 {
        ("░", 1)
    } else if w <= 0.5 {
        ("▒", 2)
    } else if w <= 0.75 {
        ("▓", 3)
    } else {
        ("█", 4)
    }
}

/// A bit string in position order (`x_0 x_1 …`): bit `i` of `x` is character `i`.
pub fn bits(x: u64, n: u32) -> String {
    (0..n)
        .map(|i| if (x >> i) & 1 == 1 { '1' } else { '0' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_width_and_indent() {
        let text = "one two three four five six seven\n  indented words go on and on";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| l.width() <= 12), "{lines:?}");
        assert_eq!(lines[0], "one two");
        assert!(
            lines
                .iter()
                .skip_while(|l| !l.starts_with("  "))
                .all(|l| l.starts_with("  "))
        );
        assert_eq!(
            wrap("averyveryverylongword x", 5)[0],
            "averyveryverylongword"
        );
    }

    #[test]
    fn art_falls_back_to_a_narrower_variant_or_none() {
        let rows: Vec<String> = (0..4).map(|x| bits(x, 2)).collect();
        let a = matrix("m", &rows, &rows, &|r, c| r == c, &|_, _| Mark::Normal);
        assert_eq!(a.fit(80).unwrap()[2].width(), 3 + 8);
        assert_eq!(a.fit(9).unwrap()[2].width(), 3 + 4);
        assert!(a.fit(6).is_none());
        let s = Screen {
            width: 20,
            color: false,
        };
        let w = Walkthrough {
            name: "t",
            title: "t".into(),
            steps: vec![Step::new("s").art(a)],
            question: "q".into(),
            answer: "a".into(),
        };
        let shown = Screen { width: 6, ..s }.step(&w, 0);
        let words = shown.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words.contains("is not drawn"), "{shown}");
        assert!(!Screen { width: 9, ..s }.step(&w, 0).contains("not drawn"));
    }

    #[test]
    fn colour_only_when_asked() {
        let l = {
            let mut l = Line::new();
            l.push("x", Tone::Mark);
            l
        };
        let on = Screen {
            width: 40,
            color: true,
        };
        assert!(on.line(&l).contains('\u{1b}'));
        assert_eq!(Screen { color: false, ..on }.line(&l), "x");
    }
}
