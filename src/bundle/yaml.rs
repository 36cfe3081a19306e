//! Bounded YAML reading for the agent's and the cluster's YAML files (`agentinfo`,
//! `networkpolicies`, `addressgroups`, `appliedtogroups`, `clusterinfo`).
//!
//! A document is read from the event stream of a streaming parser (`saphyr-parser`, a state
//! machine that does not recurse) into JSON values, with every budget checked as the events
//! arrive, before anything is materialised: nesting depth ([`MAX_DEPTH`]), nodes held at once
//! ([`MAX_LIVE_NODES`]), nodes copied by anchors and aliases ([`MAX_ALIAS_NODES`]; Antrea's Go
//! encoders write none, so a billion-laughs file is refused after at most that many copies) and
//! document size ([`MAX_DOCUMENT_BYTES`]). The elements of a top-level list (or of a top-level
//! `items` list) are handed over one by one as they complete, so a caller that keeps only a few
//! fields of each holds one element at a time, not the whole document.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::io::BufRead;

/// Deepest nesting of mappings and sequences accepted (Antrea's objects nest about a dozen deep).
pub const MAX_DEPTH: usize = 64;
/// Most nodes (scalars, mappings, sequences) held at once while reading a document: the item
/// being built plus what the caller has not yet been handed (about 100 MB of values at worst).
pub const MAX_LIVE_NODES: usize = 2_000_000;
/// Most nodes that anchors and aliases may copy in one file (all its documents together).
pub const MAX_ALIAS_NODES: usize = 100_000;
/// Largest YAML document (the text between two `---` lines): 256 MiB.
pub const MAX_DOCUMENT_BYTES: usize = 256 << 20;

/// Why a YAML document (or part of it) could not be read. Positions are 1-based and relative
/// to the text given to [`for_each_item`]; [`Documents`] callers add the document's first line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong (never more than a short excerpt of the input).
    pub message: String,
}

impl YamlError {
    fn at(span: &Span, message: impl Into<String>) -> YamlError {
        YamlError { line: span.start.line(), column: span.start.col() + 1, message: message.into() }
    }

    fn scan(e: &ScanError) -> YamlError {
        let message = if e.info().contains("recursion limit") {
            format!("nested too deeply for the YAML parser ({})", e.info())
        } else {
            crate::textfile::clip(e.info(), 200)
        };
        YamlError { line: e.marker().line(), column: e.marker().col() + 1, message }
    }
}

/// A mapping or sequence being built.
enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        /// Elements are handed to the caller instead of kept.
        stream: bool,
        nodes: usize,
    },
    Map {
        map: Map<String, Value>,
        /// The key whose value comes next (`None`: a key comes next).
        key: Option<String>,
        anchor: usize,
        /// Whether the `items` list of this (top-level) mapping was streamed.
        streamed: bool,
        nodes: usize,
    },
}

/// The event-to-value builder with its budgets.
struct Builder<'f> {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    live: usize,
    budget: &'f mut AliasBudget,
    item: &'f mut dyn FnMut(Value, usize),
    /// Line where the element being built at the streaming level started.
    item_line: usize,
}

impl Builder<'_> {
    /// Whether the next node completed at this point is handed over as an item.
    fn at_stream_level(&self) -> bool {
        match self.stack.last() {
            None => true,
            Some(Frame::Seq { stream, .. }) => *stream,
            Some(Frame::Map { .. }) => false,
        }
    }

    fn count(&mut self, n: usize, span: &Span) -> Result<(), YamlError> {
        self.live += n;
        if self.live > MAX_LIVE_NODES {
            return Err(YamlError::at(
                span,
                format!("more than {MAX_LIVE_NODES} nodes in one object (hoptrace's limit for a YAML object)"),
            ));
        }
        Ok(())
    }

    /// A finished node of `nodes` nodes goes to its parent (or to the caller).
    fn complete(&mut self, value: Value, nodes: usize, anchor: usize, span: &Span) -> Result<(), YamlError> {
        if anchor != 0 {
            self.budget.spend(nodes, span)?;
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        let stream_level = self.at_stream_level();
        match self.stack.last_mut() {
            None => {
                self.live -= nodes.min(self.live);
                if !value.is_null() {
                    (self.item)(value, self.item_line);
                }
            }
            Some(Frame::Seq { items, nodes: n, .. }) => {
                if stream_level {
                    self.live -= nodes.min(self.live);
                    (self.item)(value, self.item_line);
                } else {
                    items.push(value);
                    *n += nodes;
                }
            }
            Some(Frame::Map { map, key, nodes: n, .. }) => match key.take() {
                Some(k) => {
                    if map.contains_key(&k) {
                        return Err(YamlError::at(
                            span,
                            format!("duplicate key \"{}\" in a mapping", crate::textfile::excerpt(&k)),
                        ));
                    }
                    map.insert(k, value);
                    *n += nodes;
                }
                None => return Err(YamlError::at(span, "a mapping key that is not a plain value")),
            },
        }
        Ok(())
    }

    /// Whether a collection starting now is the value of the top-level mapping's `items` key.
    fn starts_items_list(&self) -> bool {
        matches!(self.stack.as_slice(), [Frame::Map { key: Some(k), .. }] if k.eq_ignore_ascii_case("items"))
    }

    fn push(&mut self, frame: Frame, span: &Span) -> Result<(), YamlError> {
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            return Err(YamlError::at(span, "a mapping or list used as a mapping key"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::at(
                span,
                format!("nested deeper than {MAX_DEPTH} levels (hoptrace's limit for YAML nesting)"),
            ));
        }
        if self.at_stream_level() {
            self.item_line = span.start.line();
        }
        self.count(1, span)?;
        self.stack.push(frame);
        Ok(())
    }

    fn event(&mut self, ev: Event<'_>, span: &Span) -> Result<(), YamlError> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(Frame::Map { key: key @ None, .. }) = self.stack.last_mut() {
                    // A key: kept as written.
                    *key = Some(text.into_owned());
                    if anchor != 0 {
                        // Anchored keys are not remembered: an alias to one as a key is refused.
                        self.anchors.remove(&anchor);
                    }
                    return Ok(());
                }
                if self.at_stream_level() {
                    self.item_line = span.start.line();
                }
                self.count(1, span)?;
                let value = scalar(&text, style, tag.as_deref());
                self.complete(value, 1, anchor, span)
            }
            Event::Alias(id) => {
                if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
                    return Err(YamlError::at(span, "an alias used as a mapping key"));
                }
                let Some((value, nodes)) = self.anchors.get(&id).map(|(v, n)| (v.clone(), *n)) else {
                    return Err(YamlError::at(span, "an alias to an unknown anchor"));
                };
                self.budget.spend(nodes, span)?;
                if self.at_stream_level() {
                    self.item_line = span.start.line();
                }
                self.count(nodes, span)?;
                self.complete(value, nodes, 0, span)
            }
            Event::SequenceStart(anchor, _) => {
                let stream = self.stack.is_empty() || self.starts_items_list();
                if stream {
                    if let Some(Frame::Map { streamed, .. }) = self.stack.last_mut() {
                        *streamed = true;
                    }
                }
                self.push(Frame::Seq { items: Vec::new(), anchor, stream, nodes: 1 }, span)
            }
            Event::MappingStart(anchor, _) => {
                self.push(Frame::Map { map: Map::new(), key: None, anchor, streamed: false, nodes: 1 }, span)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return Ok(()) };
                let (value, nodes, anchor) = match frame {
                    Frame::Seq { items, anchor, stream, nodes } => {
                        if stream {
                            // Its elements were handed over; nothing of it remains.
                            self.live -= nodes.min(self.live);
                            // The top-level mapping whose `items` it was expects its next key.
                            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                                *key = None;
                            }
                            return Ok(());
                        }
                        (Value::Array(items), nodes, anchor)
                    }
                    Frame::Map { map, anchor, streamed, nodes, .. } => {
                        if streamed && self.stack.is_empty() {
                            // A `{kind: List, items: [...]}` document: its items were the output.
                            self.live -= nodes.min(self.live);
                            return Ok(());
                        }
                        (Value::Object(map), nodes, anchor)
                    }
                };
                // Its nodes were counted in `live` as they came; `complete` moves them.
                self.complete(value, nodes, anchor, span)
            }
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.anchors.clear();
                self.live = 0;
                Ok(())
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
        }
    }
}

/// What anchors and aliases may still copy in one file ([`MAX_ALIAS_NODES`]): shared by all
/// its documents, so that many small documents cannot each spend a budget of their own.
#[derive(Clone, Debug, Default)]
pub struct AliasBudget {
    copied: usize,
}

impl AliasBudget {
    /// A full budget, for one file.
    pub fn new() -> AliasBudget {
        AliasBudget::default()
    }

    fn spend(&mut self, nodes: usize, span: &Span) -> Result<(), YamlError> {
        self.copied = self.copied.saturating_add(nodes);
        if self.copied > MAX_ALIAS_NODES {
            return Err(YamlError::at(
                span,
                format!(
                    "anchors and aliases copy more than {MAX_ALIAS_NODES} nodes (hoptrace's limit per file; Antrea writes no aliases)"
                ),
            ));
        }
        Ok(())
    }
}

/// Reads one YAML text (normally one document), handing each item to `item` with the 1-based
/// line where it starts: the elements of a top-level list, or of a top-level mapping's `items`
/// list, or else the document itself (a null document is skipped). Items handed over before
/// an error stay with the caller; the error says where reading stopped. `budget` is the file's
/// (see [`AliasBudget`]).
pub fn for_each_item(
    text: &str,
    budget: &mut AliasBudget,
    mut item: impl FnMut(Value, usize),
) -> Result<(), YamlError> {
    let mut b = Builder { stack: Vec::new(), anchors: HashMap::new(), live: 0, budget, item: &mut item, item_line: 1 };
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.map_err(|e| YamlError::scan(&e))?;
        b.event(ev, &span)?;
    }
    Ok(())
}

/// The value of a scalar under YAML 1.2's core schema (null, booleans, integers, floats; the
/// rest, quoted and block scalars strings). A core-schema tag (`!!str`, `!!int`, ...) decides;
/// `!!binary` stays a base64 string; other tags are ignored. Non-finite floats become null, as
/// JSON has no such numbers.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let as_string = || Value::String(text.to_string());
    if let Some(t) = tag.filter(|t| t.is_yaml_core_schema()) {
        return match t.suffix.as_str() {
            "null" => Value::Null,
            "bool" => boolean(text).map_or_else(as_string, Value::Bool),
            "int" => integer(text).unwrap_or_else(as_string),
            "float" => float(text).or_else(|| integer(text)).unwrap_or_else(as_string),
            _ => as_string(),
        };
    }
    if style != ScalarStyle::Plain {
        return as_string();
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = boolean(text) {
        return Value::Bool(b);
    }
    integer(text).or_else(|| float(text)).unwrap_or_else(as_string)
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn integer(text: &str) -> Option<Value> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok();
    match (neg, magnitude) {
        (false, Some(m)) => Some(Value::Number(m.into())),
        (true, Some(m)) if m <= i64::MAX as u64 + 1 => Some(Value::Number((0i64.wrapping_sub_unsigned(m)).into())),
        // Too large for 64 bits: a float, as serde would read it.
        _ if radix == 10 => float(text),
        _ => None,
    }
}

fn float(text: &str) -> Option<Value> {
    match text.trim_start_matches(['-', '+']) {
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN" => return Some(Value::Null),
        _ => {}
    }
    let b = text.as_bytes();
    let ok_chars = b.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'));
    if !ok_chars || !b.iter().any(u8::is_ascii_digit) {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    Some(Number::from_f64(f).map_or(Value::Null, Value::Number))
}

/// One document of a multi-document YAML file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// Its text (without the `---` line before it).
    pub text: String,
    /// The file line its text starts on (1-based).
    pub first_line: usize,
    /// The last `#name` comment line before its first content line, or else the previous
    /// document's (Antrea's `clusterinfo` sections: `#pods` before the first Pod, `#nodes`
    /// before the first Node; an empty section's line is followed directly by the next one's).
    pub section: Option<String>,
}

/// A document larger than [`MAX_DOCUMENT_BYTES`] (skipped up to the next `---` line), or a
/// read error.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Too large.
    #[error("line {first_line}: YAML document larger than {MAX_DOCUMENT_BYTES} bytes (hoptrace's limit; skipped)")]
    TooLarge {
        /// Where the document starts.
        first_line: usize,
    },
    /// The reader failed.
    #[error("line {line}: {source}")]
    Io {
        /// Where reading stopped.
        line: usize,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The documents of a multi-document YAML stream, split at `---` lines as they are read, each at
/// most [`MAX_DOCUMENT_BYTES`]: a reader of any size holds one document at a time.
pub struct Documents<R: BufRead> {
    reader: R,
    line: usize,
    done: bool,
    /// A `--- content` line that starts the next document.
    carry: Option<Vec<u8>>,
    /// The section of the documents read so far (it lasts until the next `#name`).
    section: Option<String>,
}

impl<R: BufRead> Documents<R> {
    /// Splits `reader`.
    pub fn new(reader: R) -> Documents<R> {
        Documents { reader, line: 0, done: false, carry: None, section: None }
    }

    /// Reads one line of at most `limit` bytes into `buf` (appending); the rest of a longer line
    /// is consumed and dropped. Returns the bytes the line had and whether it was cut.
    fn read_line(&mut self, buf: &mut Vec<u8>, limit: usize) -> std::io::Result<Option<(usize, bool)>> {
        let start = buf.len();
        let n = std::io::Read::take(&mut self.reader, limit as u64).read_until(b'\n', buf)?;
        if n == 0 {
            return Ok(None);
        }
        let mut cut = false;
        if buf.last() != Some(&b'\n') && n == limit {
            // Too long: drop the rest of the line.
            cut = true;
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let m = std::io::Read::take(&mut self.reader, 1 << 16).read_until(b'\n', &mut sink)?;
                if m == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
        }
        self.line += 1;
        Ok(Some((buf.len() - start, cut)))
    }
}

fn is_separator(line: &[u8]) -> bool {
    let t = line.trim_ascii_end();
    t == b"---"
}

fn starts_document(line: &[u8]) -> bool {
    line.starts_with(b"--- ") || line.starts_with(b"---\t")
}

impl<R: BufRead> Iterator for Documents<R> {
    type Item = Result<Document, DocumentError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut doc: Vec<u8> = self.carry.take().unwrap_or_default();
        // A carried `--- content` line is the line last read.
        let first_line = if doc.is_empty() { self.line + 1 } else { self.line };
        let mut too_large = false;
        let mut line = Vec::new();
        loop {
            line.clear();
            let room = if too_large { 1 << 16 } else { MAX_DOCUMENT_BYTES.saturating_sub(doc.len()) + 1 };
            let read = match self.read_line(&mut line, room.max(5)) {
                Ok(r) => r,
                Err(source) => {
                    self.done = true;
                    return Some(Err(DocumentError::Io { line: self.line + 1, source }));
                }
            };
            let Some((_, cut)) = read else {
                self.done = true;
                break;
            };
            if !cut && is_separator(&line) {
                break;
            }
            if !cut && starts_document(&line) && !doc.iter().all(u8::is_ascii_whitespace) {
                self.carry = Some(line.clone());
                break;
            }
            if too_large {
                continue;
            }
            if cut || doc.len() + line.len() > MAX_DOCUMENT_BYTES {
                too_large = true;
                doc = Vec::new();
                continue;
            }
            doc.extend_from_slice(&line);
        }
        if too_large {
            return Some(Err(DocumentError::TooLarge { first_line }));
        }
        let text = match String::from_utf8(doc) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        // Antrea writes a section's `#name` line and then its objects, each followed by `---`; an
        // empty section leaves its line directly above the next one's, so the last `#name` line
        // before the first content line names the document.
        let named = text
            .lines()
            .map(str::trim_end)
            .take_while(|l| l.is_empty() || l.starts_with('#'))
            .filter_map(|l| l.strip_prefix('#'))
            .filter_map(|name| {
                let name = name.trim().to_ascii_lowercase();
                (!name.is_empty() && !name.contains(' ')).then_some(name)
            })
            .last();
        if named.is_some() {
            self.section = named;
        }
        Some(Ok(Document { text, first_line, section: self.section.clone() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> (Vec<Value>, Result<(), YamlError>) {
        let mut out = Vec::new();
        let r = for_each_item(text, &mut AliasBudget::new(), |v, _| out.push(v));
        (out, r)
    }

    #[test]
    fn values_as_serde_would_read_them() {
        let (v, r) = items(
            "a: 1\nb: -2\nc: 0x1f\nd: 1.5\ne: true\nf: ~\ng: '7'\nh: !!binary CgoABQ==\ni: [x, \"y\"]\nj: 99999999999999999999\nk: .inf\n",
        );
        r.unwrap();
        assert_eq!(
            v,
            vec![serde_json::json!({
                "a": 1, "b": -2, "c": 31, "d": 1.5, "e": true, "f": null, "g": "7", "h": "CgoABQ==",
                "i": ["x", "y"], "j": 1e20, "k": null
            })]
        );
        assert_eq!(integer("-9223372036854775808"), Some(Value::Number(i64::MIN.into())));
    }

    #[test]
    fn lists_are_streamed() {
        let (v, r) = items("- a: 1\n- b: 2\n");
        r.unwrap();
        assert_eq!(v.len(), 2);
        let (v, r) = items("kind: List\nitems:\n- a: 1\n- b: 2\nmetadata: {}\n");
        r.unwrap();
        assert_eq!(v, vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]);
        let (v, r) = items("items: 3\n");
        r.unwrap();
        assert_eq!(v, vec![serde_json::json!({"items": 3})]);
    }

    #[test]
    fn budgets_fire_before_materialising() {
        // Billion laughs: nine levels of ten aliases each.
        let mut bomb = String::from("a0: &a0 [x]\n");
        for i in 1..10 {
            let prev = format!("*a{}", i - 1);
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let (_, r) = items(&bomb);
        let e = r.unwrap_err();
        assert!(e.message.contains("aliases"), "{e}");
        // Deep nesting, flow and block.
        let deep = "[".repeat(100_000);
        let e = items(&deep).1.unwrap_err();
        assert!(e.message.contains("deeper than 64") || e.message.contains("nested too deeply"), "{e}");
        let deep = "[".repeat(200);
        let e = items(&deep).1.unwrap_err();
        assert!(e.message.contains("deeper than 64"), "{e}");
        let deep = "- ".repeat(100_000);
        let e = items(&deep).1.unwrap_err();
        assert!(e.message.contains("deeper than 64") || e.message.contains("nested too deeply"), "{e}");
        let deep: String = (0..100_000).map(|i| format!("{}k:\n", " ".repeat(i % 200))).collect();
        let e = items(&deep).1.unwrap_err();
        assert!(e.message.contains("deeper") || e.message.contains("nested too deeply"), "{e}");
        let e = items("a: 1\na: 2\n").1.unwrap_err();
        assert_eq!((e.line, e.message.contains("duplicate")), (2, true));
        // A few aliases are fine.
        let (v, r) = items("x: &k {a: 1}\ny: *k\n");
        r.unwrap();
        assert_eq!(v, vec![serde_json::json!({"x": {"a": 1}, "y": {"a": 1}})]);
    }

    #[test]
    fn documents_split_with_sections() {
        let text = "#pods\na: 1\n---\n#nodes\nb: 2\n--- {c: 3}\n---\n";
        // The section lasts until the next one.
        let docs: Vec<Document> = Documents::new(text.as_bytes()).map(Result::unwrap).collect();
        assert_eq!(docs.len(), 4);
        assert_eq!((docs[0].first_line, docs[0].section.as_deref()), (1, Some("pods")));
        assert_eq!((docs[1].first_line, docs[1].section.as_deref()), (4, Some("nodes")));
        assert_eq!(
            (docs[2].first_line, docs[2].text.as_str(), docs[2].section.as_deref()),
            (6, "--- {c: 3}\n", Some("nodes"))
        );
        assert_eq!(docs[3].text, "");
    }
}
