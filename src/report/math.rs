//! The report's formulas are written once, in LaTeX (what GitHub's Markdown shows), and
//! translated here to typst math (what the PDF typesets).
//!
//! The translation covers the subset of LaTeX the report uses:
//! - letters, digits and operators as they are, `/` as typst's literal slash `\/`, and a
//!   space between two letters (`ij` → `i j`: typst reads adjacent letters as one name);
//! - `_x` and `^x`, the argument in parentheses when it is more than one token
//!   (`h_{k-1}` → `h_(k-1)`, `W^{\top}` → `W^top`);
//! - `\frac{a}{b}` and `\tfrac` as `a/b` (single characters) or `a / b`, each side in
//!   parentheses when it has a space;
//! - `\hat x`, `\mathbf{x}`, `\sqrt{x}` as `hat(x)`, `bold(x)`, `sqrt(x)`; `\mathbb{R}` as
//!   `RR`; `\text{…}` as a string; `\left` and `\right` dropped;
//! - `\ `, `\quad`, `\qquad` as `space`, `quad`, `wide` (a run of `\ ` as one `space`), `\,`
//!   as a plain space; `\lt`, `\gt`, `\leftarrow`, `\odot`, `\varepsilon` as `<`, `>`,
//!   `<-`, `dot.circle`, `epsilon`; every other command (greek letters, `\sum`,
//!   `\partial`, `\in`, `\times`, `\top`, `\dots`, …) by its name.
//!
//! The spacing of the source is kept, and a space is added where typst needs one to tell
//! two things apart: between a name and what precedes it (`\mu v` → `mu v`,
//! `-\sum` → `- sum`, `1-\varepsilon` → `1 - epsilon`), and after a fraction before a
//! parenthesis or a letter (`\tfrac{1}{B}(x)` → `1/B (x)`).

/// `tex` (the subset above) as typst math.
pub fn typst_from_tex(tex: &str) -> String {
    let chars: Vec<char> = tex.chars().collect();
    let mut parser = Parser { chars, at: 0 };
    render(&parser.pieces(false))
}

/// What a piece of the formula is, for the spacing around it.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// Whitespace of the source, or `\,`.
    Space,
    /// `space`, `quad` or `wide`: always set off by spaces.
    Gap(&'static str),
    /// A name, a function applied (`hat(y)`) or a string: set off from a preceding name.
    Word(String),
    /// A rendered fraction.
    Frac(String),
    /// A character or an operator.
    Sym(String),
    /// `_x` or `^(…)`, attached to what precedes.
    Script(String),
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// Pieces up to the end, or (in a group) up to and past the closing brace.
    fn pieces(&mut self, in_group: bool) -> Vec<Piece> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == '}' && in_group {
                self.at += 1;
                break;
            }
            if let Some(piece) = self.piece() {
                out.push(piece);
            }
        }
        out
    }

    /// The next piece; None for what renders as nothing (`\left`, `\right`).
    fn piece(&mut self) -> Option<Piece> {
        let c = self.peek()?;
        self.at += 1;
        Some(match c {
            c if c.is_whitespace() => {
                while self.peek().is_some_and(char::is_whitespace) {
                    self.at += 1;
                }
                Piece::Space
            }
            '\\' => return self.command(),
            '_' | '^' => Piece::Script(format!("{c}{}", self.script_argument())),
            '{' => {
                let inner = self.pieces(true);
                Piece::Word(render(&inner))
            }
            '/' => Piece::Sym("\\/".into()),
            c => Piece::Sym(c.to_string()),
        })
    }

    /// After a backslash: a command and its arguments.
    fn command(&mut self) -> Option<Piece> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.at += 1;
        }
        if self.at == start {
            // A control symbol: `\ `, `\,`, or an escaped character.
            let c = self.peek()?;
            self.at += 1;
            return Some(match c {
                ' ' => Piece::Gap("space"),
                ',' => Piece::Space,
                c => Piece::Sym(c.to_string()),
            });
        }
        let name: String = self.chars[start..self.at].iter().collect();
        Some(match name.as_str() {
            "left" | "right" => return None,
            "quad" => Piece::Gap("quad"),
            "qquad" => Piece::Gap("wide"),
            "lt" => Piece::Sym("<".into()),
            "gt" => Piece::Sym(">".into()),
            "leftarrow" => Piece::Sym("<-".into()),
            "odot" => Piece::Word("dot.circle".into()),
            "varepsilon" => Piece::Word("epsilon".into()),
            "frac" | "tfrac" => {
                let numerator = self.argument();
                let denominator = self.argument();
                Piece::Frac(fraction(&numerator, &denominator))
            }
            "hat" => Piece::Word(format!("hat({})", self.argument())),
            "mathbf" => Piece::Word(format!("bold({})", self.argument())),
            "sqrt" => Piece::Word(format!("sqrt({})", self.argument())),
            "mathbb" => {
                let letter = self.argument();
                Piece::Word(format!("{letter}{letter}"))
            }
            "text" => Piece::Word(format!("{:?}", self.raw_group())),
            _ => Piece::Word(name),
        })
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// The pieces of the next argument: a `{group}` or a single token.
    fn argument_pieces(&mut self) -> Vec<Piece> {
        self.skip_space();
        if self.peek() == Some('{') {
            self.at += 1;
            self.pieces(true)
        } else {
            self.piece().into_iter().collect()
        }
    }

    /// The next argument, rendered.
    fn argument(&mut self) -> String {
        render(&self.argument_pieces())
    }

    /// The argument of `_` or `^`: bare when it is one token, else in parentheses.
    fn script_argument(&mut self) -> String {
        let pieces = self.argument_pieces();
        let tokens = pieces.iter().filter(|p| **p != Piece::Space).count();
        let single = tokens == 1 && !matches!(pieces[0], Piece::Frac(_));
        let inner = render(&pieces);
        if single { inner } else { format!("({inner})") }
    }

    /// The text of a `{group}`, as written.
    fn raw_group(&mut self) -> String {
        self.skip_space();
        if self.peek() != Some('{') {
            return self.piece().map_or_else(String::new, |p| render(&[p]));
        }
        self.at += 1;
        let start = self.at;
        while self.peek().is_some_and(|c| c != '}') {
            self.at += 1;
        }
        let text = self.chars[start..self.at].iter().collect();
        self.at += 1;
        text
    }
}

/// `a/b` when both sides are one character, else `a / b` with a side in parentheses when
/// it has a space (outside parentheses).
fn fraction(numerator: &str, denominator: &str) -> String {
    if numerator.chars().count() == 1 && denominator.chars().count() == 1 {
        return format!("{numerator}/{denominator}");
    }
    let side = |s: &str| {
        if has_top_level_space(s) {
            format!("({s})")
        } else {
            s.to_string()
        }
    };
    format!("{} / {}", side(numerator), side(denominator))
}

fn has_top_level_space(s: &str) -> bool {
    let mut depth = 0i32;
    let mut in_string = false;
    for c in s.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '(' => depth += 1,
            ')' => depth -= 1,
            ' ' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The pieces as typst, spaced (see the module's documentation).
fn render(pieces: &[Piece]) -> String {
    let mut out = String::new();
    let mut space = false;
    let mut after_frac = false;
    let mut last_gap: Option<&str> = None;
    for piece in pieces {
        if *piece == Piece::Space {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
        match piece {
            Piece::Space => unreachable!(),
            Piece::Gap(name) => {
                if last_gap == Some(*name) {
                    continue;
                }
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push_str(name);
                space = true;
                last_gap = Some(*name);
                after_frac = false;
                continue;
            }
            Piece::Word(word) | Piece::Frac(word) => {
                if !space && out.ends_with(|c: char| !c.is_whitespace() && c != '(' && c != '[') {
                    if out.ends_with('-') {
                        // A minus before a name: set off on both sides unless it is a sign.
                        let before = out[..out.len() - 1].chars().next_back();
                        if before.is_some_and(|c| !c.is_whitespace() && c != '(') {
                            out.insert(out.len() - 1, ' ');
                        }
                    }
                    out.push(' ');
                }
                out.push_str(word);
            }
            Piece::Sym(sym) => {
                let first = sym.chars().next().unwrap_or(' ');
                let letter_after_letter =
                    first.is_alphabetic() && out.ends_with(|c: char| c.is_alphabetic());
                let after_fraction = after_frac && (first == '(' || first.is_alphabetic());
                if !space && (letter_after_letter || after_fraction) {
                    out.push(' ');
                }
                out.push_str(sym);
            }
            Piece::Script(script) => out.push_str(script),
        }
        space = false;
        last_gap = None;
        after_frac = matches!(piece, Piece::Frac(_));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every formula of the report (all activations, optimizers and initialisations), with
    /// the typst that was written beside it by hand before the translation existed.
    pub const FORMULAS: &[(&str, &str)] = &[
        ("K", "K"),
        (r"x \in \mathbb{R}^{1 \times n_0}", "x in RR^(1 times n_0)"),
        ("y", "y"),
        (
            r"z_k = h_{k-1} W_k + b_k,\quad h_k = \sigma(z_k)\ (k \lt K),\quad h_0 = x,\qquad \hat y_i = \frac{e^{z_i}}{\sum_{j=1}^{C} e^{z_j}},\quad L = -\sum_{i=1}^{C} y_i \ln \hat y_i",
            "z_k = h_(k-1) W_k + b_k, quad h_k = sigma(z_k) space (k < K), quad h_0 = x, wide hat(y)_i = e^(z_i) / (sum_(j=1)^C e^(z_j)), quad L = - sum_(i=1)^C y_i ln hat(y)_i",
        ),
        (r"z = z_K", "z = z_K"),
        (
            r"W_k \in \mathbb{R}^{n_{k-1} \times n_k}",
            "W_k in RR^(n_(k-1) times n_k)",
        ),
        (r"\sigma", "sigma"),
        (r"S = \sum_k e^{z_k}", "S = sum_k e^(z_k)"),
        (r"\delta_{ij}", "delta_(i j)"),
        (
            r"\frac{\partial \hat y_i}{\partial z_j} = \frac{\delta_{ij} e^{z_i} S - e^{z_i} e^{z_j}}{S^2} = \hat y_i (\delta_{ij} - \hat y_j).",
            "(partial hat(y)_i) / (partial z_j) = (delta_(i j) e^(z_i) S - e^(z_i) e^(z_j)) / S^2 = hat(y)_i (delta_(i j) - hat(y)_j).",
        ),
        (r"L(\hat y)", "L(hat(y))"),
        ("w", "w"),
        (
            r"\frac{\partial L}{\partial w} = \sum_i \frac{\partial L}{\partial \hat y_i} \sum_j \frac{\partial \hat y_i}{\partial z_j} \frac{\partial z_j}{\partial w}.",
            "(partial L) / (partial w) = sum_i (partial L) / (partial hat(y)_i) sum_j (partial hat(y)_i) / (partial z_j) (partial z_j) / (partial w).",
        ),
        (
            r"\partial L / \partial \hat y_i = -y_i / \hat y_i",
            "partial L \\/ partial hat(y)_i = -y_i \\/ hat(y)_i",
        ),
        (r"\sum_i y_i = 1", "sum_i y_i = 1"),
        (
            r"\frac{\partial L}{\partial z_j} = \sum_i \left(-\frac{y_i}{\hat y_i}\right) \hat y_i (\delta_{ij} - \hat y_j) = -y_j + \hat y_j \sum_i y_i = \hat y_j - y_j, \qquad \text{i.e.}\quad \frac{\partial L}{\partial z_K} = \hat y - y.",
            "(partial L) / (partial z_j) = sum_i (- y_i / hat(y)_i) hat(y)_i (delta_(i j) - hat(y)_j) = -y_j + hat(y)_j sum_i y_i = hat(y)_j - y_j, wide \"i.e.\" quad (partial L) / (partial z_K) = hat(y) - y.",
        ),
        (
            r"y = (1-\varepsilon)\,\text{onehot} + \varepsilon / C",
            "y = (1 - epsilon) \"onehot\" + epsilon \\/ C",
        ),
        (
            r"(z_k)_j = \sum_m (h_{k-1})_m (W_k)_{mj} + (b_k)_j",
            "(z_k)_j = sum_m (h_(k-1))_m (W_k)_(m j) + (b_k)_j",
        ),
        (
            r"\partial (z_k)_j / \partial (W_k)_{mn} = (h_{k-1})_m \delta_{jn}",
            "partial (z_k)_j \\/ partial (W_k)_(m n) = (h_(k-1))_m delta_(j n)",
        ),
        (
            r"\delta_k = \partial L / \partial z_k",
            "delta_k = partial L \\/ partial z_k",
        ),
        (
            r"\delta_K = \hat y - y,\qquad \delta_k = \left(\delta_{k+1} W_{k+1}^{\top}\right) \odot \sigma'(z_k)\ \ (k = K-1, \dots, 1),\qquad \frac{\partial L}{\partial W_k} = h_{k-1}^{\top} \delta_k,\qquad \frac{\partial L}{\partial b_k} = \delta_k",
            "delta_K = hat(y) - y, wide delta_k = (delta_(k+1) W_(k+1)^top) dot.circle sigma'(z_k) space (k = K-1, dots, 1), wide (partial L) / (partial W_k) = h_(k-1)^top delta_k, wide (partial L) / (partial b_k) = delta_k",
        ),
        (r"h_{k-1}^{\top} \delta_k", "h_(k-1)^top delta_k"),
        (r"n_{k-1} \times n_k", "n_(k-1) times n_k"),
        ("W_k", "W_k"),
        (
            r"\sigma'(z) = [z \gt 0] = [h \gt 0]",
            "sigma'(z) = [z > 0] = [h > 0]",
        ),
        (
            r"\sigma'(z) = 1 - \tanh^2 z = 1 - h^2",
            "sigma'(z) = 1 - tanh^2 z = 1 - h^2",
        ),
        (
            r"\sigma'(z) = \sigma(z)(1 - \sigma(z)) = h(1 - h)",
            "sigma'(z) = sigma(z)(1 - sigma(z)) = h(1 - h)",
        ),
        (
            r"L = \frac{1}{B}\sum_{b=1}^{B} L_b",
            "L = 1/B sum_(b=1)^B L_b",
        ),
        (r"X = H_0", "X = H_0"),
        ("B", "B"),
        (r"\hat Y, Y, Z_k, H_k", "hat(Y), Y, Z_k, H_k"),
        (
            r"\Delta_K = \tfrac{1}{B}(\hat Y - Y),\qquad \Delta_k = \left(\Delta_{k+1} W_{k+1}^{\top}\right) \odot \sigma'(Z_k),\qquad \frac{\partial L}{\partial W_k} = H_{k-1}^{\top} \Delta_k,\qquad \frac{\partial L}{\partial b_k} = \mathbf{1}^{\top} \Delta_k .",
            "Delta_K = 1/B (hat(Y) - Y), wide Delta_k = (Delta_(k+1) W_(k+1)^top) dot.circle sigma'(Z_k), wide (partial L) / (partial W_k) = H_(k-1)^top Delta_k, wide (partial L) / (partial b_k) = bold(1)^top Delta_k .",
        ),
        (r"\Delta_K", "Delta_K"),
        (r"\Delta_{k+1} W_{k+1}^{\top}", "Delta_(k+1) W_(k+1)^top"),
        (r"H_{k-1}^{\top}\Delta_k", "H_(k-1)^top Delta_k"),
        (r"\mathbf{1}^{\top}\Delta_k", "bold(1)^top Delta_k"),
        (r"\odot\,\sigma'", "dot.circle sigma'"),
        ("H_k", "H_k"),
        (r"784 \times 256", "784 times 256"),
        (r"\sqrt{2 / n_{\text{in}}}", "sqrt(2 \\/ n_\"in\")"),
        (
            r"\sqrt{2 / (n_{\text{in}} + n_{\text{out}})}",
            "sqrt(2 \\/ (n_\"in\" + n_\"out\"))",
        ),
        (
            r"v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta v",
            "v <- mu v + g, space theta <- theta - eta v",
        ),
        (
            r"v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta (g + \mu v)",
            "v <- mu v + g, space theta <- theta - eta (g + mu v)",
        ),
        (r"\hat y_i", "hat(y)_i"),
        (r"\frac{a}{b}", "a/b"),
    ];

    #[test]
    fn every_formula_of_the_report_translates_to_its_former_typst() {
        for (tex, typst) in FORMULAS {
            assert_eq!(typst_from_tex(tex), *typst, "from {tex}");
        }
    }

    #[test]
    fn spacing_and_grouping() {
        assert_eq!(typst_from_tex(r"a_{ij}^{2}"), "a_(i j)^2");
        assert_eq!(typst_from_tex(r"1-\mu"), "1 - mu");
        assert_eq!(typst_from_tex(r"(-\mu)"), "(- mu)");
        assert_eq!(typst_from_tex(r"\tfrac{1}{n}x"), "1/n x");
        assert_eq!(typst_from_tex(r"a\ \ b\quad c"), "a space b quad c");
        assert_eq!(typst_from_tex(r"\text{a b}"), "\"a b\"");
    }
}
