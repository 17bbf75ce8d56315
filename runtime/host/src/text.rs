//! Plugin text made safe to keep and to show: [`printable`] escapes control characters, and
//! [`truncate`] bounds a plugin's message with a marker saying how much was cut.
//!
//! A plugin chooses every byte of its error messages, log records, counter names, stderr and
//! description. Shown raw on a terminal, an ANSI escape sequence retitles or clears it, and a
//! carriage return or newline forges a line of its own (a fake `error:` line, a fake log
//! record). So every place that writes plugin text for a human — `PluginError`'s display,
//! the CLI's summary and `plugin inspect`, text log lines — goes through [`printable`]. JSON
//! output needs nothing more: serde escapes control characters itself.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\u{1b}`, …), so that it
/// prints as one line of inert text; borrowed when there was nothing to escape.
///
/// With `keep_newlines`, `\n` stays (for multi-line text the host itself laid out, such as an
/// error with its stderr tail, whose plugin parts were already escaped); every other control
/// character — `\r` included, which would overwrite the line — is still escaped.
pub fn printable(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let escape = |c: char| c.is_control() && !(keep_newlines && c == '\n') || is_bidi_control(c);
    if !s.chars().any(escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escape(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                // Cannot fail: writing to a String.
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
                }
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Unicode's bidirectional overrides and isolates: not control characters to `char`, but they
/// reorder what a terminal shows (text that reads differently from what it is).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` cut to at most `max` bytes (at a character boundary) followed by
/// `… [truncated, N bytes]`, where N is the length of the whole text; `s` itself when it fits.
pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let total = s.len();
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.shrink_to_fit();
    let _ = write!(s, "… [truncated, {total} bytes]");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(
            printable("plain ünïcode", false),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            printable("a\u{1b}]0;pwned\u{7}b\r\nerror: fake\tx\u{202e}", false),
            "a\\u{1b}]0;pwned\\u{7}b\\r\\nerror: fake\\tx\\u{202e}"
        );
        assert_eq!(printable("one\ntwo\r", true), "one\ntwo\\r");
        assert_eq!(printable("\u{9b}31m", true), "\\u{9b}31m");
    }

    #[test]
    fn truncation_keeps_a_char_boundary_and_says_how_long_the_text_was() {
        assert_eq!(truncate("short".into(), 5), "short");
        assert_eq!(truncate("héllo".into(), 2), "h… [truncated, 6 bytes]");
        assert_eq!(truncate("x".repeat(10), 4), "xxxx… [truncated, 10 bytes]");
    }
}
