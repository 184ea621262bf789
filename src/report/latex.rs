//! LaTeX of a result's tables: one booktabs `tabular` per table (`\toprule`, `\midrule`,
//! `\bottomrule`), for a document that loads `booktabs`.
//!
//! Above the tables, a comment line names the command that made them; above each, a comment
//! line holds its title, ready to become a caption. Text is escaped ([`escape`]), numbers are
//! in math mode and right-aligned, a missing value is `--`. A one-row table of many columns
//! (one check, one construction) is written transposed, as for people
//! ([`Table::for_people`]).

use std::io;

use super::table::{Cell, Table};

/// The math-mode command of a mathematical character results use, which `pdflatex` has no
/// text glyph for.
fn math(c: char) -> Option<&'static str> {
    Some(match c {
        '×' => r"\times",
        '·' | '⋅' => r"\cdot",
        '−' => "-",
        '±' => r"\pm",
        '∓' => r"\mp",
        '≤' => r"\leq",
        '≥' => r"\geq",
        '≠' => r"\neq",
        '≈' => r"\approx",
        '→' => r"\rightarrow",
        '←' => r"\leftarrow",
        '⇒' => r"\Rightarrow",
        '⇔' => r"\Leftrightarrow",
        '∈' => r"\in",
        '∋' => r"\ni",
        '∪' => r"\cup",
        '∩' => r"\cap",
        '∧' => r"\wedge",
        '¬' => r"\neg",
        '∘' => r"\circ",
        '⊙' => r"\odot",
        '√' => r"\surd",
        '∞' => r"\infty",
        '⌈' => r"\lceil",
        '⌉' => r"\rceil",
        '⌊' => r"\lfloor",
        '⌋' => r"\rfloor",
        'Σ' => r"\Sigma",
        'β' => r"\beta",
        'γ' => r"\gamma",
        'δ' => r"\delta",
        'ε' => r"\varepsilon",
        'η' => r"\eta",
        'θ' => r"\theta",
        'λ' => r"\lambda",
        'µ' | 'μ' => r"\mu",
        'ρ' => r"\rho",
        'σ' => r"\sigma",
        'φ' => r"\varphi",
        'ℓ' => r"\ell",
        '₀' => "_0",
        '₁' => "_1",
        '₂' => "_2",
        '⁰' => "^0",
        '¹' => "^1",
        '²' => "^2",
        '³' => "^3",
        '⁶' => "^6",
        '⁹' => "^9",
        '⁻' => "^-",
        'ᵀ' => "^T",
        _ => return None,
    })
}

/// `text` safe in LaTeX text mode: the ten special characters (`\ { } _ % & # $ ~ ^`), `<`, `>`
/// and `|` (which the default OT1 font encoding prints as other glyphs) as the commands that
/// print them, a `-` before another `-` kept apart (so `--max-work` does not become an en
/// dash), `…`, `–` and `—` as LaTeX writes them, line breaks as spaces, and the mathematical
/// characters results use (`×`, `·`, `≤`, `⌈`, `γ`, …: `math`) in math mode.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str(r"\textbackslash{}"),
            '{' | '}' | '_' | '%' | '&' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '<' => out.push_str(r"\textless{}"),
            '>' => out.push_str(r"\textgreater{}"),
            '|' => out.push_str(r"\textbar{}"),
            '-' if chars.peek() == Some(&'-') => out.push_str("-{}"),
            '…' => out.push_str(r"\ldots{}"),
            '–' => out.push_str("--"),
            '—' => out.push_str("---"),
            c if c.is_control() => out.push(' '),
            c => match math(c) {
                Some(m) => {
                    out.push_str(r"\ensuremath{");
                    out.push_str(m);
                    out.push('}');
                }
                None => out.push(c),
            },
        }
    }
    out
}

/// A comment line's text: one line, whatever `text` holds.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The cell as LaTeX: a number in math mode, text escaped.
fn cell(c: &Cell) -> String {
    match c {
        Cell::Real(v, _) if v.is_nan() => r"$\mathrm{NaN}$".to_string(),
        Cell::Real(v, _) if v.is_infinite() => {
            format!("${}\\infty$", if *v < 0.0 { "-" } else { "" })
        }
        Cell::Int(_) | Cell::Real(..) => format!("${}$", c.shown()),
        Cell::Missing => "--".to_string(),
        Cell::Bool(_) | Cell::Text(_) => escape(&c.shown()),
    }
}

/// Writes `tables` as booktabs tabulars, the first line a comment naming `made_by`, the command
/// that made them.
pub fn write(tables: &[Table], made_by: &str, out: &mut dyn io::Write) -> io::Result<()> {
    writeln!(out, "% made by: {}", comment(made_by))?;
    for (i, table) in tables.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let t = table.for_people();
        let spec: String = (0..t.columns.len())
            .map(|c| if t.numeric_column(c) { 'r' } else { 'l' })
            .collect();
        writeln!(out, "% caption: {}", comment(&t.title))?;
        writeln!(out, "\\begin{{tabular}}{{{spec}}}")?;
        writeln!(out, "\\toprule")?;
        let header: Vec<String> = t.columns.iter().map(|h| escape(h)).collect();
        writeln!(out, "{} \\\\", header.join(" & "))?;
        writeln!(out, "\\midrule")?;
        for r in &t.rows {
            let cells: Vec<String> = r.iter().map(cell).collect();
            writeln!(out, "{} \\\\", cells.join(" & "))?;
        }
        writeln!(out, "\\bottomrule")?;
        writeln!(out, "\\end{{tabular}}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_character_is_escaped() {
        assert_eq!(
            escape(r"a_b 50% & #1 $x {y} ~z ^w \cmd"),
            r"a\_b 50\% \& \#1 \$x \{y\} \textasciitilde{}z \textasciicircum{}w \textbackslash{}cmd"
        );
    }

    #[test]
    fn what_pdflatex_would_misprint_is_rewritten() {
        assert_eq!(
            escape("a<b>c|d"),
            r"a\textless{}b\textgreater{}c\textbar{}d"
        );
        assert_eq!(escape("--max-work 2e12"), "-{}-max-work 2e12");
        assert_eq!(escape("---"), "-{}-{}-");
        assert_eq!(
            escape("2^8 × 8, m·p ≥ γ → x ≤ −1"),
            r"2\textasciicircum{}8 \ensuremath{\times} 8, m\ensuremath{\cdot}p \ensuremath{\geq} \ensuremath{\gamma} \ensuremath{\rightarrow} x \ensuremath{\leq} \ensuremath{-}1"
        );
        assert_eq!(escape("two\nlines\r\tand\u{7}"), "two lines  and ");
        assert_eq!(
            escape("⌈log2 η⌉ … a–b — ₂"),
            r"\ensuremath{\lceil}log2 \ensuremath{\eta}\ensuremath{\rceil} \ldots{} a--b --- \ensuremath{_2}"
        );
    }

    #[test]
    fn escaping_leaves_no_special_character_unescaped() {
        // Every special character in the output is part of an escape this module wrote.
        let nasty = r#"\\{}_%&#$~^<>|"'`--\{\}é"#;
        let e = escape(nasty);
        let stripped = [
            r"\textbackslash{}",
            r"\textasciitilde{}",
            r"\textasciicircum{}",
            r"\textless{}",
            r"\textgreater{}",
            r"\textbar{}",
            r"\{",
            r"\}",
            r"\_",
            r"\%",
            r"\&",
            r"\#",
            r"\$",
            "-{}",
        ]
        .iter()
        .fold(e.clone(), |s, esc| s.replace(esc, ""));
        assert!(
            !stripped.contains(['\\', '{', '}', '_', '%', '&', '#', '$', '~', '^']),
            "{e} leaves {stripped}"
        );
        assert!(stripped.contains('é'));
    }

    #[test]
    fn a_table_is_a_booktabs_tabular_with_numbers_in_math_mode() {
        let mut t = Table::new("runs", "runs of 50% & more", &["run_name", "bits", "loss"]);
        t.push(vec!["a_1".into(), 12u64.into(), Cell::real(0.25, 3)]);
        t.push(vec![
            "b".into(),
            Cell::Missing,
            Cell::real(f64::NEG_INFINITY, 3),
        ]);
        let mut out = Vec::new();
        write(&[t], "ccsep check\n--n 3", &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "% made by: ccsep check --n 3\n\
             % caption: runs of 50% & more\n\
             \\begin{tabular}{lrr}\n\
             \\toprule\n\
             run\\_name & bits & loss \\\\\n\
             \\midrule\n\
             a\\_1 & $12$ & $0.250$ \\\\\n\
             b & -- & $-\\infty$ \\\\\n\
             \\bottomrule\n\
             \\end{tabular}\n"
        );
    }
}
