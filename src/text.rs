//! Text from outside the program (class names from a weights file, `--author`, `--title`,
//! folder and file names) made safe to print: every control character is shown as an
//! escape instead of acting, so a name can neither break a line of a report (and start a
//! list item or heading there) nor send a terminal escape sequence (setting the window
//! title, clearing the screen).

use std::borrow::Cow;

/// `text` with each control character written as an escape: newline, carriage return and
/// tab as `\n`, `\r`, `\t`, the others (ESC, DEL, the C1 controls, the line and paragraph
/// separators, the bidirectional overrides) as `\u{…}` with their code in hex. Other text,
/// backslashes included, is left as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `c` acts on the text around it rather than showing: the C0 and C1 controls and
/// DEL, the line and paragraph separators, and the bidirectional embeddings, overrides and
/// isolates (which reorder what a terminal shows).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "T-shirt/top, naïve \\ 9";
        assert!(matches!(escape_controls(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn line_breaks_and_tabs_become_visible_escapes() {
        assert_eq!(escape_controls("a\nb\r\tc"), "a\\nb\\r\\tc");
    }

    #[test]
    fn terminal_escape_sequences_lose_their_escape_character() {
        let title = "\u{1b}]0;owned\u{7}\u{1b}[2J";
        assert_eq!(escape_controls(title), "\\u{1b}]0;owned\\u{7}\\u{1b}[2J");
        assert_eq!(escape_controls("\u{9b}2J\u{7f}"), "\\u{9b}2J\\u{7f}");
    }

    #[test]
    fn separators_and_bidirectional_overrides_are_escaped() {
        assert_eq!(
            escape_controls("a\u{2028}b\u{202e}c"),
            "a\\u{2028}b\\u{202e}c"
        );
    }
}
