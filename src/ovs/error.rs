//! Errors of the OpenFlow text grammar (flows, groups, actions, values, packets): what kind of
//! mistake, and a message naming the offending text. Messages are bounded: an offending item
//! of any length is quoted by its beginning and end only, so a damaged megabyte-long line
//! cannot flood the terminal.

use std::fmt;

/// The longest message a [`ParseError`] keeps; longer ones keep their beginning and end.
pub const MAX_MESSAGE: usize = 200;

/// What kind of mistake a piece of OpenFlow text has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// Brackets, parentheses or quotes that do not pair up; text not in the expected form.
    Syntax,
    /// A field name OVS does not know.
    UnknownField,
    /// An action, argument, group type or keyword OVS does not know.
    UnknownKeyword,
    /// A value (number, address, port, mask, flag list, table) that does not parse.
    InvalidValue,
    /// A value that parses but does not fit its field or range.
    OutOfRange,
    /// Something required is missing (a value, an argument, `actions=`).
    Missing,
    /// A combination OVS rejects (a mask on an unmaskable field, unmet prerequisites, `nat`
    /// outside `ct`, mixed address families).
    Invalid,
}

/// An error in OpenFlow text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What kind of mistake.
    pub kind: ParseErrorKind,
    /// What is wrong, naming the offending text (bounded to [`MAX_MESSAGE`] bytes).
    pub message: String,
}

/// `s` cut to at most `max` bytes, keeping its beginning and end around an ellipsis.
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut head = max * 2 / 3;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - (max - head).saturating_sub(3);
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}…{}", &s[..head], &s[tail..])
}

impl ParseError {
    /// An error of `kind`.
    pub fn new(kind: ParseErrorKind, message: impl Into<String>) -> ParseError {
        let message = message.into();
        let message = if message.len() > MAX_MESSAGE { bounded(&message, MAX_MESSAGE) } else { message };
        ParseError { kind, message }
    }

    /// [`ParseErrorKind::Syntax`].
    pub fn syntax(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::Syntax, message)
    }

    /// [`ParseErrorKind::UnknownField`].
    pub fn unknown_field(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::UnknownField, message)
    }

    /// [`ParseErrorKind::UnknownKeyword`].
    pub fn unknown(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::UnknownKeyword, message)
    }

    /// [`ParseErrorKind::InvalidValue`].
    pub fn value(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::InvalidValue, message)
    }

    /// [`ParseErrorKind::OutOfRange`].
    pub fn range(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::OutOfRange, message)
    }

    /// [`ParseErrorKind::Missing`].
    pub fn missing(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::Missing, message)
    }

    /// [`ParseErrorKind::Invalid`].
    pub fn invalid(message: impl Into<String>) -> ParseError {
        ParseError::new(ParseErrorKind::Invalid, message)
    }

    /// The same error with `context` in front of its message (`"resubmit(,x): ..."`).
    pub fn context(self, context: impl fmt::Display) -> ParseError {
        ParseError::new(self.kind, format!("{context}: {}", self.message))
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_keep_beginning_and_end() {
        let long = format!("{}: invalid value for field nw_src", "x".repeat(1_000_000));
        let e = ParseError::value(long);
        assert!(e.message.len() <= MAX_MESSAGE + 4, "{}", e.message.len());
        assert!(e.message.starts_with("xxx") && e.message.ends_with("invalid value for field nw_src"));
        let b = bounded("ééééé", 5);
        assert!(b.starts_with('é') && b.ends_with('…'), "{b}");
        assert_eq!(ParseError::syntax("short").to_string(), "short");
    }
}
