//! The report's content model — sections of paragraphs, equations, tables and figures —
//! and its two renderers: GitHub Markdown (math as `$…$` / `$$…$$` in LaTeX) and typst
//! source (the same formulas translated to typst's math syntax), so that the Markdown and
//! the PDF say the same things.

use std::fmt::Write;

use crate::report::math::typst_from_tex;
use crate::text::escape_controls;

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    pub authors: Vec<String>,
    /// A line under the authors (the date, what it was made from).
    pub subtitle: String,
    pub sections: Vec<Section>,
}

/// A numbered section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    /// A displayed equation.
    Equation(Math),
    Table(Table),
    /// (name, value) pairs: a two-column table in Markdown, three pairs a row in the PDF.
    Pairs(Vec<(String, Vec<Inline>)>),
    /// Pictures side by side (where the page allows).
    Figures(Vec<Figure>),
    /// A bulleted list.
    List(Vec<Vec<Inline>>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Code(String),
    Math(Math),
}

/// One formula, in LaTeX: GitHub's Markdown shows it as written, the PDF as translated to
/// typst math.
#[derive(Debug, Clone, PartialEq)]
pub struct Math {
    pub tex: String,
}

impl Math {
    /// The formula in typst math.
    pub fn typst(&self) -> String {
        typst_from_tex(&self.tex)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Vec<Inline>>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: String,
    pub align: Align,
    /// Takes the room left by the others (and wraps), in the PDF.
    pub wide: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The picture's file name, relative to the report.
    pub file: String,
    pub caption: String,
    /// Relative width beside the other figures of the row (typst `fr`).
    pub weight: f64,
}

/// A paragraph.
pub fn para(inlines: Vec<Inline>) -> Block {
    Block::Paragraph(inlines)
}

/// Text.
pub fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

/// Bold text.
pub fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}

/// Inline code (a function or file name).
pub fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

/// A formula, in LaTeX.
pub fn math(tex: impl Into<String>) -> Math {
    Math { tex: tex.into() }
}

/// An inline formula, in LaTeX.
pub fn m(tex: impl Into<String>) -> Inline {
    Inline::Math(math(tex))
}

/// A column of a table.
pub fn column(title: &str, align: Align) -> Column {
    Column {
        title: title.to_string(),
        align,
        wide: false,
    }
}

// ---------------------------------------------------------------------------------------
// Markdown (GitHub)

/// The report as GitHub-flavoured Markdown.
pub fn to_markdown(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_escape(&doc.title));
    if !doc.authors.is_empty() {
        let authors: Vec<String> = doc.authors.iter().map(|a| md_escape(a)).collect();
        let _ = writeln!(out, "**{}**\n", authors.join(" · "));
    }
    let _ = writeln!(out, "*{}*\n", md_escape(&doc.subtitle));
    for (i, section) in doc.sections.iter().enumerate() {
        let _ = writeln!(out, "## {}. {}\n", i + 1, md_escape(&section.title));
        for block in &section.blocks {
            md_block(&mut out, block);
            out.push('\n');
        }
    }
    out
}

fn md_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(inlines) => {
            let _ = writeln!(out, "{}", md_inlines(inlines));
        }
        Block::Equation(eq) => {
            let _ = writeln!(out, "$$\n{}\n$$", eq.tex);
        }
        Block::Table(table) => {
            let titles: Vec<String> = table.columns.iter().map(|c| md_escape(&c.title)).collect();
            let rules: Vec<&str> = (table.columns.iter())
                .map(|c| match c.align {
                    Align::Left => "---",
                    Align::Right => "--:",
                })
                .collect();
            let _ = writeln!(out, "| {} |", titles.join(" | "));
            let _ = writeln!(out, "|{}|", rules.join("|"));
            for row in &table.rows {
                let cells: Vec<String> = row.iter().map(|c| md_inlines(c)).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
        }
        Block::Pairs(pairs) => {
            let _ = writeln!(out, "| setting | value |\n|---|---|");
            for (name, value) in pairs {
                let _ = writeln!(out, "| {} | {} |", md_escape(name), md_inlines(value));
            }
        }
        Block::Figures(figures) => {
            for f in figures {
                let _ = writeln!(
                    out,
                    "![{}]({})\n\n*{}*\n",
                    md_escape(&f.caption),
                    f.file,
                    md_escape(&f.caption)
                );
            }
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {}", md_inlines(item));
            }
        }
    }
}

fn md_inlines(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(s) => md_escape(s),
            Inline::Strong(s) => format!("**{}**", md_escape(s)),
            Inline::Code(s) => format!("`{}`", escape_controls(s)),
            Inline::Math(eq) => format!("${}$", eq.tex),
        })
        .collect()
}

/// Backslash-escapes the characters that would start Markdown (or math) syntax, after
/// writing control characters as escapes (a line break would end the line, and could start
/// a list item or a heading on the next).
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_controls(s).chars() {
        if "\\`*_[]<>|$#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// typst

/// The report as typst source: A4, two pages for the homework's hand-in. Text goes in as
/// string literals (`#"…"`), so nothing in it is ever read as markup.
pub fn to_typst(doc: &Document) -> String {
    let mut out = String::new();
    let authors: Vec<String> = doc.authors.iter().map(|a| typst_string(a)).collect();
    let _ = writeln!(
        out,
        "#set document(title: {}, author: ({}))",
        typst_string(&doc.title),
        authors.iter().map(|a| format!("{a},")).collect::<String>()
    );
    out.push_str(TYPST_PREAMBLE);
    let _ = writeln!(
        out,
        "#align(center)[#text(size: 15pt, weight: \"bold\")[#{}]",
        typst_string(&doc.title)
    );
    if !authors.is_empty() {
        let _ = writeln!(
            out,
            "  #v(-2pt) #text(size: 10.5pt)[{}]",
            authors
                .iter()
                .map(|a| format!("#{a}"))
                .collect::<Vec<_>>()
                .join(" #h(1.5em) ")
        );
    }
    let _ = writeln!(
        out,
        "  #v(-2pt) #text(size: 8pt, fill: luma(90))[#{}]]\n",
        typst_string(&doc.subtitle)
    );
    for section in &doc.sections {
        let _ = writeln!(out, "= #{}\n", typst_string(&section.title));
        for block in &section.blocks {
            typst_block(&mut out, block);
            out.push('\n');
        }
    }
    out
}

const TYPST_PREAMBLE: &str = r#"#set page(paper: "a4", margin: (x: 1.5cm, top: 1.3cm, bottom: 1.4cm), numbering: "1 / 1")
#set text(size: 9pt)
#set par(justify: true, spacing: 0.6em, leading: 0.5em)
#set heading(numbering: "1.")
#show heading: set text(size: 10.5pt)
#show heading: set block(above: 0.9em, below: 0.5em)
#set math.equation(numbering: none)
#show math.equation.where(block: true): set block(spacing: 0.5em)
#set table(stroke: 0.4pt + luma(160), inset: (x: 4pt, y: 2.5pt))
#show table: set text(size: 8pt)
#show raw: set text(size: 8pt)
#set list(spacing: 0.45em)
#set figure(gap: 4pt)
#show figure.caption: set text(size: 8pt)
"#;

fn typst_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(inlines) => {
            let _ = writeln!(out, "{}", typst_inlines(inlines));
        }
        Block::Equation(eq) => {
            let _ = writeln!(out, "$ {} $", eq.typst());
        }
        Block::Table(table) => {
            let widths: Vec<&str> = (table.columns.iter())
                .map(|c| if c.wide { "1fr" } else { "auto" })
                .collect();
            let aligns: Vec<&str> = (table.columns.iter())
                .map(|c| match c.align {
                    Align::Left => "left",
                    Align::Right => "right",
                })
                .collect();
            let header: Vec<String> = (table.columns.iter())
                .map(|c| format!("[#strong({})]", typst_string(&c.title)))
                .collect();
            let _ = writeln!(
                out,
                "#table(columns: ({},), align: ({},),\n  table.header({}),",
                widths.join(", "),
                aligns.join(", "),
                header.join(", ")
            );
            for row in &table.rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|c| format!("[{}]", typst_inlines(c)))
                    .collect();
                let _ = writeln!(out, "  {},", cells.join(", "));
            }
            out.push_str(")\n");
        }
        Block::Pairs(pairs) => {
            let per_row = 3;
            let _ = writeln!(
                out,
                "#table(columns: ({}), align: left, stroke: none, inset: (x: 3pt, y: 1.5pt),",
                vec!["auto, 1fr"; per_row].join(", ")
            );
            for chunk in pairs.chunks(per_row) {
                let mut cells: Vec<String> = chunk
                    .iter()
                    .map(|(name, value)| {
                        format!(
                            "text(fill: luma(70), {}), [{}]",
                            typst_string(name),
                            typst_inlines(value)
                        )
                    })
                    .collect();
                cells.resize(per_row, "[], []".to_string());
                let _ = writeln!(out, "  {},", cells.join(", "));
            }
            out.push_str(")\n");
        }
        Block::Figures(figures) => {
            let widths: Vec<String> = figures.iter().map(|f| format!("{}fr", f.weight)).collect();
            let _ = writeln!(
                out,
                "#grid(columns: ({},), column-gutter: 10pt, align: bottom,",
                widths.join(", ")
            );
            for f in figures {
                let _ = writeln!(
                    out,
                    "  figure(image({}, width: 100%), caption: [#{}]),",
                    typst_string(&f.file),
                    typst_string(&f.caption)
                );
            }
            out.push_str(")\n");
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {}", typst_inlines(item));
            }
        }
    }
}

fn typst_inlines(inlines: &[Inline]) -> String {
    inlines
        .iter()
        .map(|inline| match inline {
            Inline::Text(s) => format!("#{}", typst_string(s)),
            Inline::Strong(s) => format!("#strong({})", typst_string(s)),
            Inline::Code(s) => format!("#raw({})", typst_string(s)),
            Inline::Math(eq) => format!("${}$", eq.typst()),
        })
        .collect()
}

/// A typst string literal.
fn typst_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Document {
        Document {
            title: "A *report*".into(),
            authors: vec!["Ada \"A\" L., 1".into()],
            subtitle: "today".into(),
            sections: vec![Section {
                title: "Gradients".into(),
                blocks: vec![
                    Block::Paragraph(vec![
                        text("loss $ and _x_ "),
                        m(r"\hat y_i"),
                        code("dense_forward"),
                    ]),
                    Block::Equation(math(r"\frac{a}{b}")),
                    Block::Table(Table {
                        columns: vec![column("a|b", Align::Left), column("n", Align::Right)],
                        rows: vec![vec![vec![text("x")], vec![text("1")]]],
                    }),
                ],
            }],
        }
    }

    #[test]
    fn markdown_escapes_text_and_keeps_math() {
        let md = to_markdown(&sample());
        assert!(md.starts_with("# A \\*report\\*\n"), "{md}");
        assert!(md.contains("## 1. Gradients"), "{md}");
        assert!(
            md.contains(r"loss \$ and \_x\_ $\hat y_i$`dense_forward`"),
            "{md}"
        );
        assert!(md.contains("$$\n\\frac{a}{b}\n$$"), "{md}");
        assert!(md.contains("| a\\|b | n |\n|---|--:|\n| x | 1 |"), "{md}");
    }

    #[test]
    fn typst_takes_text_as_string_literals() {
        let typ = to_typst(&sample());
        assert!(typ.contains(r#"author: ("Ada \"A\" L., 1",)"#), "{typ}");
        assert!(
            typ.contains(r#"#"loss $ and _x_ "$hat(y)_i$#raw("dense_forward")"#),
            "{typ}"
        );
        assert!(typ.contains("$ a/b $"), "{typ}");
        assert!(typ.contains("= #\"Gradients\""), "{typ}");
    }
}
