//! Splitting flow text at top level: separators inside quotes, parentheses or brackets do not
//! count (`ct(commit,exec(load:1->NXM_NX_CT_MARK[]))`, `in_port="a,b"`, `members:[2,3]`).

use crate::ovs::error::ParseError;
/// Which bytes separate items: commas only (inside `ct(...)`, `nat(...)`), or commas and blanks
/// (between a flow's match items and actions, as `ovs-ofctl` accepts either).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sep {
    /// `,`.
    Comma,
    /// `,`, space, tab, CR or LF.
    CommaBlank,
}

impl Sep {
    fn classes(self) -> &'static [u8; 256] {
        match self {
            Sep::Comma => &CLASS_COMMA,
            Sep::CommaBlank => &CLASS_COMMA_BLANK,
        }
    }
}

/// Splits `s` at every top-level separator; empty pieces are dropped.
/// Fails on unbalanced parentheses, brackets or quotes.
pub fn split_top(s: &str, sep: Sep) -> Result<Vec<&str>, ParseError> {
    TopSplit::new(s, sep).collect()
}

/// Position of the first `c` in `s` (a plain loop: faster than `memchr` on short tokens).
#[inline]
pub fn byte_pos(s: &str, c: u8) -> Option<usize> {
    s.as_bytes().iter().position(|&b| b == c)
}

/// `s` split at the first `c`.
#[inline]
pub fn split_byte(s: &str, c: u8) -> Option<(&str, &str)> {
    let i = byte_pos(s, c)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s` split at the last `->` (`set_field:value->field`, `load:value->dst[range]`).
#[inline]
pub fn rsplit_arrow(s: &str) -> Option<(&str, &str)> {
    let i = s.as_bytes().windows(2).rposition(|w| w == b"->")?;
    Some((&s[..i], &s[i + 2..]))
}

/// `s` split at the first `->` (`move:src->dst`).
#[inline]
pub fn split_arrow(s: &str) -> Option<(&str, &str)> {
    let i = s.as_bytes().windows(2).position(|w| w == b"->")?;
    Some((&s[..i], &s[i + 2..]))
}

/// Byte classes for scanning: ordinary text, separator, or a byte that changes nesting or
/// quoting. One table lookup per byte is the whole inner loop.
const PLAIN: u8 = 0;
const SEPARATOR: u8 = 1;
const SPECIAL: u8 = 2;

const fn classes(separators: &[u8]) -> [u8; 256] {
    let mut t = [PLAIN; 256];
    let mut i = 0;
    while i < separators.len() {
        t[separators[i] as usize] = SEPARATOR;
        i += 1;
    }
    t[b'"' as usize] = SPECIAL;
    t[b'\\' as usize] = SPECIAL;
    t[b'(' as usize] = SPECIAL;
    t[b')' as usize] = SPECIAL;
    t[b'[' as usize] = SPECIAL;
    t[b']' as usize] = SPECIAL;
    t
}

static CLASS_COMMA: [u8; 256] = classes(b",");
static CLASS_COMMA_BLANK: [u8; 256] = classes(b", \t\r\n");

/// The pieces of [`split_top`] one at a time, without allocating.
pub struct TopSplit<'a> {
    s: &'a str,
    pos: usize,
    class: &'static [u8; 256],
    failed: bool,
}

impl<'a> TopSplit<'a> {
    /// Splits `s` at top-level separators.
    pub fn new(s: &'a str, sep: Sep) -> Self {
        TopSplit { s, pos: 0, class: sep.classes(), failed: false }
    }

    /// What is left after the separators that follow the last piece: where the next piece
    /// starts (a flow's `actions=` is found this way, without a second scan of the line).
    pub fn rest(&mut self) -> &'a str {
        let b = self.s.as_bytes();
        while self.pos < b.len() && self.class[b[self.pos] as usize] == SEPARATOR {
            self.pos += 1;
        }
        self.s.get(self.pos..).unwrap_or("")
    }
}

impl<'a> Iterator for TopSplit<'a> {
    type Item = Result<&'a str, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.rest();
        let b = self.s.as_bytes();
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let class = self.class;
        let mut depth: u32 = 0;
        let mut quoted = false;
        let mut i = start;
        while i < b.len() {
            // Fast skip over bytes that can neither separate nor nest, eight at a time.
            while let Some(w) = b.get(i..i + 8) {
                let any = w.iter().fold(PLAIN, |acc, &c| acc | class[c as usize]);
                if any != PLAIN {
                    break;
                }
                i += 8;
            }
            while i < b.len() && class[b[i] as usize] == PLAIN {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let c = b[i];
            if quoted {
                match c {
                    b'\\' => i += 1,
                    b'"' => quoted = false,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => quoted = true,
                    b'(' | b'[' => depth += 1,
                    b')' | b']' => {
                        if depth == 0 {
                            self.failed = true;
                            return Some(Err(ParseError::syntax(format!(
                                "unbalanced {:?} in {:?}",
                                c as char, self.s
                            ))));
                        }
                        depth -= 1;
                    }
                    _ if depth == 0 && class[c as usize] == SEPARATOR => break,
                    _ => {}
                }
            }
            i += 1;
        }
        if quoted {
            self.failed = true;
            return Some(Err(ParseError::syntax(format!("unterminated quote in {:?}", self.s))));
        }
        if depth != 0 {
            self.failed = true;
            return Some(Err(ParseError::syntax(format!("unbalanced parentheses in {:?}", self.s))));
        }
        self.pos = i.min(b.len());
        Some(Ok(&self.s[start..self.pos]))
    }
}

/// Position of the first top-level occurrence of `needle` that starts at the beginning of `s`
/// or right after a separator (blank, comma): where the item that starts with it begins.
pub fn find_keyword(s: &str, needle: &str) -> Option<usize> {
    let mut items = TopSplit::new(s, Sep::CommaBlank);
    loop {
        let rest = items.rest();
        if rest.starts_with(needle) {
            return Some(s.len() - rest.len());
        }
        items.next()?.ok()?;
    }
}

/// `name(args)` → (`name`, `args`) when `s` ends with the parenthesis that closes the first `(`.
pub fn call(s: &str) -> Option<(&str, &str)> {
    if !s.ends_with(')') {
        return None;
    }
    let open = byte_pos(s, b'(')?;
    let inner = &s[open + 1..s.len() - 1];
    // The first '(' must close at the very end.
    let mut depth = 0i32;
    for c in inner.bytes() {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    (depth == 0).then(|| (&s[..open], inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level() {
        let v = split_top("a,ct(commit,exec(x,y)),b[1,2],\"c,d\"", Sep::Comma).unwrap();
        assert_eq!(v, vec!["a", "ct(commit,exec(x,y))", "b[1,2]", "\"c,d\""]);
        assert!(split_top("a(b", Sep::Comma).is_err());
        assert!(split_top("a)b", Sep::Comma).is_err());
        // A backslash outside quotes is ordinary text.
        assert_eq!(split_top("a\\b,\\", Sep::Comma).unwrap(), vec!["a\\b", "\\"]);
        assert_eq!(find_keyword("priority=1,ip actions=drop", "actions="), Some(14));
        assert_eq!(find_keyword("x=learn(actions=1) actions=drop", "actions="), Some(19));
        assert_eq!(call("ct(commit,nat(src))"), Some(("ct", "commit,nat(src)")));
        assert_eq!(call("a(b)c(d)"), None);
    }
}
