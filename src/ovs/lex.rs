//! Splitting flow text at top level: separators inside quotes, parentheses or brackets do not
//! count (`ct(commit,exec(load:1->NXM_NX_CT_MARK[]))`, `in_port="a,b"`, `members:[2,3]`).

/// Splits `s` at every top-level byte for which `is_sep` holds; empty pieces are dropped.
/// Fails on unbalanced parentheses, brackets or quotes.
pub fn split_top(s: &str, is_sep: impl Fn(u8) -> bool) -> Result<Vec<&str>, String> {
    TopSplit::new(s, is_sep).collect()
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

/// Bytes that never change nesting or quoting.
static PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t[b'(' as usize] = false;
    t[b')' as usize] = false;
    t[b'[' as usize] = false;
    t[b']' as usize] = false;
    t
};

/// The pieces of [`split_top`] one at a time, without allocating.
pub struct TopSplit<'a, F> {
    s: &'a str,
    pos: usize,
    is_sep: F,
    failed: bool,
}

impl<'a, F: Fn(u8) -> bool> TopSplit<'a, F> {
    /// Splits `s` at top-level separators.
    pub fn new(s: &'a str, is_sep: F) -> Self {
        TopSplit { s, pos: 0, is_sep, failed: false }
    }
}

impl<'a, F: Fn(u8) -> bool> Iterator for TopSplit<'a, F> {
    type Item = Result<&'a str, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let b = self.s.as_bytes();
        // Skip separators.
        while self.pos < b.len() && (self.is_sep)(b[self.pos]) {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let mut depth: u32 = 0;
        let mut quoted = false;
        let mut i = start;
        while i < b.len() {
            // Fast skip over bytes that can neither separate nor nest.
            while i < b.len() && PLAIN[b[i] as usize] && !(self.is_sep)(b[i]) {
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
                            return Some(Err(format!("unbalanced {:?} in {:?}", c as char, self.s)));
                        }
                        depth -= 1;
                    }
                    _ if depth == 0 && (self.is_sep)(c) => break,
                    _ => {}
                }
            }
            i += 1;
        }
        if quoted {
            self.failed = true;
            return Some(Err(format!("unterminated quote in {:?}", self.s)));
        }
        if depth != 0 {
            self.failed = true;
            return Some(Err(format!("unbalanced parentheses in {:?}", self.s)));
        }
        self.pos = i.min(b.len());
        Some(Ok(&self.s[start..self.pos]))
    }
}

/// Position of the first top-level occurrence of `needle` that starts at the beginning of `s`
/// or right after a delimiter (space, tab, comma).
pub fn find_keyword(s: &str, needle: &str) -> Option<usize> {
    let b = s.as_bytes();
    let n = needle.as_bytes();
    let mut quoted = false;
    let mut depth: u32 = 0;
    let Some(&first) = n.first() else { return Some(0) };
    let mut i = 0;
    while i < b.len() {
        // Fast skip over bytes that neither nest nor start the needle.
        while i < b.len() && PLAIN[b[i] as usize] && b[i] != first {
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
                b')' | b']' => depth = depth.saturating_sub(1),
                _ => {
                    if depth == 0
                        && c == first
                        && b[i..].starts_with(n)
                        && (i == 0 || matches!(b[i - 1], b' ' | b'\t' | b','))
                    {
                        return Some(i);
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// `name(args)` → (`name`, `args`) when `s` ends with the parenthesis that closes the first `(`.
pub fn call(s: &str) -> Option<(&str, &str)> {
    let open = s.find('(')?;
    if !s.ends_with(')') {
        return None;
    }
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
        let v = split_top("a,ct(commit,exec(x,y)),b[1,2],\"c,d\"", |c| c == b',').unwrap();
        assert_eq!(v, vec!["a", "ct(commit,exec(x,y))", "b[1,2]", "\"c,d\""]);
        assert!(split_top("a(b", |c| c == b',').is_err());
        assert!(split_top("a)b", |c| c == b',').is_err());
        assert_eq!(find_keyword("priority=1,ip actions=drop", "actions="), Some(14));
        assert_eq!(find_keyword("x=learn(actions=1) actions=drop", "actions="), Some(19));
        assert_eq!(call("ct(commit,nat(src))"), Some(("ct", "commit,nat(src)")));
        assert_eq!(call("a(b)c(d)"), None);
    }
}
