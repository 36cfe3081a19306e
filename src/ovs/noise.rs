//! What pasting adds to a dump's lines: ANSI colour codes (`ovs-ofctl --color`, a coloured
//! terminal copied as is) and HTML markup (`<b>table=0</b>`, `<br>`, `&gt;` from a web page or
//! a ticket). Neither is part of OpenFlow syntax — OVS flow text has no `<`, `&` or control
//! characters — so removing them recovers the flow as OVS printed it; the dump then says how many
//! lines it cleaned (never a silent change).

use std::borrow::Cow;

/// What was removed from a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Noise {
    /// ANSI escape sequences.
    pub ansi: bool,
    /// HTML tags or character references.
    pub html: bool,
}

impl Noise {
    /// Whether anything was removed.
    pub fn any(self) -> bool {
        self.ansi || self.html
    }
}

/// `line` without ANSI escape sequences and HTML tags, with HTML character references decoded
/// (`&gt;` → `>`), and what was removed. Borrowed when there was nothing to remove.
pub fn clean(line: &str) -> (Cow<'_, str>, Noise) {
    let b = line.as_bytes();
    if memchr::memchr3(0x1b, b'<', b'&', b).is_none() {
        return (Cow::Borrowed(line), Noise::default());
    }
    let mut out = String::with_capacity(line.len());
    let mut noise = Noise::default();
    let (mut i, mut kept_from) = (0, 0);
    while i < b.len() {
        let removed = match b[i] {
            0x1b => {
                noise.ansi = true;
                Some((escape_end(b, i), None))
            }
            b'<' => tag_end(b, i).map(|end| {
                noise.html = true;
                (end, None)
            }),
            b'&' => entity(&b[i..]).map(|(text, len)| {
                noise.html = true;
                (i + len, Some(text))
            }),
            _ => None,
        };
        match removed {
            Some((end, replacement)) => {
                // Every delimiter is ASCII, so these are character boundaries.
                out.push_str(&line[kept_from..i]);
                out.extend(replacement);
                i = end;
                kept_from = end;
            }
            None => i += 1,
        }
    }
    if !noise.any() {
        return (Cow::Borrowed(line), noise);
    }
    out.push_str(&line[kept_from..]);
    (Cow::Owned(out), noise)
}

/// The end (exclusive) of the escape sequence at `b[at]` (ESC): a CSI sequence `ESC [ params
/// final`, or ESC and one ASCII character.
fn escape_end(b: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    match b.get(i) {
        Some(b'[') => {
            i += 1;
            while b.get(i).is_some_and(|c| (0x20..=0x3f).contains(c)) {
                i += 1;
            }
            if b.get(i).is_some_and(|c| (0x40..=0x7e).contains(c)) {
                i += 1;
            }
            i
        }
        Some(c) if c.is_ascii() => i + 1,
        _ => i,
    }
}

/// The end (exclusive) of the HTML tag at `b[at]` (`<`): `<name ...>` or `</name>`, within the
/// line and without another `<` before its `>`.
fn tag_end(b: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    if b.get(i) == Some(&b'/') {
        i += 1;
    }
    if !b.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    let close = memchr::memchr2(b'>', b'<', &b[i..])?;
    (b[i + close] == b'>').then_some(i + close + 1)
}

/// The HTML character reference at the start of `b`: its text and length.
fn entity(b: &[u8]) -> Option<(&'static str, usize)> {
    const ENTITIES: [(&[u8], &str); 8] = [
        (b"&gt;", ">"),
        (b"&lt;", "<"),
        (b"&amp;", "&"),
        (b"&quot;", "\""),
        (b"&apos;", "'"),
        (b"&#39;", "'"),
        (b"&#62;", ">"),
        (b"&nbsp;", " "),
    ];
    ENTITIES.iter().find(|(e, _)| b.starts_with(e)).map(|(e, t)| (*t, e.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_and_markup_are_removed() {
        let ansi =
            "\u{1b}[36;1mcookie=\u{1b}[m0x0, \u{1b}[35mtable=\u{1b}[m0, priority=0 \u{1b}[34mactions=\u{1b}[mdrop";
        assert_eq!(
            clean(ansi),
            (Cow::Owned("cookie=0x0, table=0, priority=0 actions=drop".into()), Noise { ansi: true, html: false })
        );
        let html = "<b>table=0</b>, priority=200,<span style=\"color:red\">ct_state=-new+trk</span>,ip actions=load:0x1-&gt;NXM_NX_REG0[]<br/>";
        let (t, n) = clean(html);
        assert_eq!(t, "table=0, priority=200,ct_state=-new+trk,ip actions=load:0x1->NXM_NX_REG0[]");
        assert_eq!(n, Noise { ansi: false, html: true });
        // Flow text as OVS prints it is left alone (`->` is no tag), and so is a lone `<`.
        let plain = "table=0, priority=0 actions=set_field:0x1->reg0";
        assert!(matches!(clean(plain), (Cow::Borrowed(_), n) if !n.any()));
        assert!(matches!(clean("a < b & c"), (Cow::Borrowed(_), n) if !n.any()));
        // A lone ESC before a multi-byte character does not split it.
        assert_eq!(clean("\u{1b}é").0, "é");
    }
}
