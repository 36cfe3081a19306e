//! One OpenFlow flow as `ovs-ofctl dump-flows` prints it (with or without `--names` and
//! `--no-stats`) or as `ovs-ofctl add-flow(s)` accepts it, and whole dump files.

use super::action::{parse_actions_into, write_list, Action, TableRef};
use super::lex::{Sep, TopSplit};
use super::matching::{FieldMatch, Match};
use super::noise::{clean, Noise};
use super::value::parse_int;
use crate::ovs::error::{ParseError, ParseErrorKind};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::hash_map::{Entry, HashMap};
use std::fmt;
use std::path::Path;

/// Buffers reused from one flow line to the next, and what earlier lines' match items parsed to.
#[derive(Default)]
struct Scratch<'a> {
    fields: Vec<FieldMatch>,
    actions: Vec<Action>,
    /// `field=value` items whose meaning does not depend on the items before them
    /// ([`Match::context_free`]), by text: flows repeat most of their match items word for word
    /// (`reg0=0x10000/0x10000`, `ct_state=-new+trk`), so each distinct one is parsed once.
    items: ItemMemo<'a>,
}

/// Parsed match items by their text (see [`Scratch::items`]).
type ItemMemo<'a> = HashMap<&'a str, FieldMatch, foldhash::fast::RandomState>;

/// The items of `scratch` moved into a vector of exactly their number.
fn exact_copy<T>(scratch: &mut Vec<T>) -> Vec<T> {
    let mut v = Vec::with_capacity(scratch.len());
    v.append(scratch);
    v
}

/// Flow-mod flags that appear as bare words in flow text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowFlag {
    /// `send_flow_rem`.
    SendFlowRem,
    /// `check_overlap`.
    CheckOverlap,
    /// `reset_counts`.
    ResetCounts,
    /// `no_packet_counts`.
    NoPacketCounts,
    /// `no_byte_counts`.
    NoByteCounts,
}

const FLAGS: &[(&str, FlowFlag)] = &[
    ("send_flow_rem", FlowFlag::SendFlowRem),
    ("check_overlap", FlowFlag::CheckOverlap),
    ("reset_counts", FlowFlag::ResetCounts),
    ("no_packet_counts", FlowFlag::NoPacketCounts),
    ("no_byte_counts", FlowFlag::NoByteCounts),
];

/// The flow-mod command a line of a `--bundle add-flows` / `replace-flows` file may start with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowCommand {
    /// `add`.
    Add,
    /// `modify`.
    Modify,
    /// `modify_strict`.
    ModifyStrict,
    /// `delete`.
    Delete,
    /// `delete_strict`.
    DeleteStrict,
}

const COMMANDS: &[(&str, FlowCommand)] = &[
    ("add", FlowCommand::Add),
    ("modify", FlowCommand::Modify),
    ("modify_strict", FlowCommand::ModifyStrict),
    ("delete", FlowCommand::Delete),
    ("delete_strict", FlowCommand::DeleteStrict),
];

/// OVS's default flow priority (not printed by `dump-flows`).
pub const DEFAULT_PRIORITY: u16 = 32768;

/// One flow. Statistics are data (`n_packets` and friends), absent with `--no-stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Flow {
    /// Leading flow-mod command word, if the line had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<FlowCommand>,
    /// Cookie.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_cookie")]
    pub cookie: Option<u64>,
    /// Age of the flow in milliseconds (`duration=1.605s`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Table (none = table 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<TableRef>,
    /// Packets matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_packets: Option<u64>,
    /// Bytes matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_bytes: Option<u64>,
    /// Idle timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u16>,
    /// Hard timeout in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_timeout: Option<u16>,
    /// Seconds since the flow last matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_age: Option<u32>,
    /// Seconds since the flow was added or modified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard_age: Option<u32>,
    /// Eviction importance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<u16>,
    /// Priority as written (none = the default 32768).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    /// Flow-mod flags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<FlowFlag>,
    /// The match.
    #[serde(rename = "match")]
    pub matches: Match,
    /// The actions (empty = drop).
    pub actions: Vec<Action>,
}

fn ser_cookie<S: serde::Serializer>(c: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.collect_str(&format_args!("{c:#x}")),
        None => s.serialize_none(),
    }
}

impl Flow {
    /// The effective priority.
    pub fn priority(&self) -> u16 {
        self.priority.unwrap_or(DEFAULT_PRIORITY)
    }

    /// The table, `0` when not written.
    pub fn table_or_zero(&self) -> TableRef {
        self.table.clone().unwrap_or(TableRef::Id(0))
    }

    /// Parses one flow line.
    pub fn parse(line: &str) -> Result<Flow, ParseError> {
        let mut flow = Flow::default();
        flow.parse_into(line, &mut Scratch::default())?;
        Ok(flow)
    }

    /// Fills `self`, a [`Flow::default`], in place (a dump's flows are parsed straight into its
    /// vector).
    fn parse_into<'a>(&mut self, line: &'a str, scratch: &mut Scratch<'a>) -> Result<(), ParseError> {
        let actions_text = self.parse_match_into(line, scratch)?;
        self.parse_actions_into(actions_text, scratch)
    }

    /// Fills everything but the actions from `line`; returns the actions' text.
    fn parse_match_into<'a>(&mut self, line: &'a str, scratch: &mut Scratch<'a>) -> Result<&'a str, ParseError> {
        let line = line.trim_ascii();
        // The match items go into the scratch list (a match looks at its earlier items while
        // parsing: `tp_dst` after `udp`), then into an exactly sized one.
        scratch.fields.clear();
        self.matches.fields = std::mem::take(&mut scratch.fields);
        let head = self.parse_head(line, &mut scratch.items);
        scratch.fields = std::mem::take(&mut self.matches.fields);
        let actions_text = head.map_err(|e| not_a_flow(line, e))?;
        self.matches.fields = exact_copy(&mut scratch.fields);
        self.matches.check_prereqs()?;
        Ok(actions_text)
    }

    /// Fills the actions from their text.
    fn parse_actions_into(&mut self, text: &str, scratch: &mut Scratch<'_>) -> Result<(), ParseError> {
        scratch.actions.clear();
        parse_actions_into(text, &mut scratch.actions)?;
        self.actions = exact_copy(&mut scratch.actions);
        Ok(())
    }

    /// Parses the items before `actions=` (or OVS's alternative spelling `action=`) and returns
    /// the text after it.
    fn parse_head<'a>(&mut self, line: &'a str, known: &mut ItemMemo<'a>) -> Result<&'a str, ParseError> {
        let mut items = TopSplit::new(line, Sep::CommaBlank);
        // A `--bundle` file's line may start with a flow-mod command word and a blank.
        let maybe_command = matches!(line.as_bytes().first(), Some(b'a' | b'm' | b'd'));
        if let Some((word, _)) = line.split_once([' ', '\t']).filter(|_| maybe_command) {
            if let Some((_, c)) = COMMANDS.iter().find(|(w, _)| *w == word) {
                self.command = Some(*c);
                items.next();
            }
        }
        loop {
            let rest = items.rest();
            if let Some(actions) = rest.strip_prefix("actions=").or_else(|| rest.strip_prefix("action=")) {
                return Ok(actions.trim_ascii());
            }
            let Some(item) = items.next() else { return Err(ParseError::missing("no actions= in flow")) };
            let item = item?;
            let (key, value) = match super::lex::byte_pos(item, b'=') {
                Some(i) => (&item[..i], Some(&item[i + 1..])),
                None => (item, None),
            };
            self.push(item, key, value, known)?;
        }
    }

    fn push<'a>(
        &mut self,
        item: &'a str,
        key: &str,
        value: Option<&str>,
        known: &mut ItemMemo<'a>,
    ) -> Result<(), ParseError> {
        let num = |what: &str| -> Result<u128, ParseError> {
            let v = value.ok_or_else(|| ParseError::missing(format!("{what} needs a value")))?;
            parse_int(v).ok_or_else(|| ParseError::value(format!("{what}={v}: invalid number")))
        };
        fn fit<T: TryFrom<u128>>(v: u128, what: &str) -> Result<T, ParseError> {
            T::try_from(v).map_err(|_| ParseError::range(format!("{what}={v}: out of range")))
        }
        match key {
            "cookie" if value.is_some_and(|v| !v.contains('/')) => self.cookie = Some(fit(num(key)?, key)?),
            "duration" => self.duration_ms = Some(parse_duration(value.unwrap_or(""))?),
            "table" => {
                self.table = Some(TableRef::parse(value.ok_or_else(|| ParseError::missing("table needs a value"))?)?)
            }
            "n_packets" => self.n_packets = Some(fit(num(key)?, key)?),
            "n_bytes" => self.n_bytes = Some(fit(num(key)?, key)?),
            "idle_timeout" => self.idle_timeout = Some(fit(num(key)?, key)?),
            "hard_timeout" => self.hard_timeout = Some(fit(num(key)?, key)?),
            "idle_age" => self.idle_age = Some(fit(num(key)?, key)?),
            "hard_age" => self.hard_age = Some(fit(num(key)?, key)?),
            "importance" => self.importance = Some(fit(num(key)?, key)?),
            "priority" => self.priority = Some(fit(num(key)?, key)?),
            _ => {
                if value.is_none() {
                    if let Some((_, f)) = FLAGS.iter().find(|(n, _)| *n == key) {
                        if !self.flags.contains(f) {
                            self.flags.push(*f);
                        }
                        return Ok(());
                    }
                }
                if value.is_some() && Match::context_free(key) {
                    let m = match known.entry(item) {
                        Entry::Occupied(e) => e.get().clone(),
                        Entry::Vacant(e) => match self.matches.field_item(key, value)? {
                            Some(m) => e.insert(m).clone(),
                            None => {
                                self.matches.add_other(key, value);
                                return Ok(());
                            }
                        },
                    };
                    self.matches.add_field(m);
                } else {
                    self.matches.push_item(key, value)?;
                }
            }
        }
        Ok(())
    }

    /// The flow as `ovs-ofctl add-flow` accepts it (no statistics or ages).
    pub fn flow_mod(&self) -> FlowMod<'_> {
        FlowMod(self)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>, stats: bool) -> fmt::Result {
        if stats {
            if let Some(c) = self.command {
                let w = COMMANDS.iter().find(|(_, x)| *x == c).map_or("add", |(w, _)| w);
                write!(f, "{w} ")?;
            }
        }
        let mut head: Vec<String> = Vec::with_capacity(8);
        if let Some(c) = self.cookie {
            head.push(format!("cookie={c:#x}"));
        }
        if stats {
            if let Some(d) = self.duration_ms {
                head.push(format!("duration={}.{:03}s", d / 1000, d % 1000));
            }
        }
        if let Some(t) = &self.table {
            head.push(format!("table={t}"));
        }
        if stats {
            if let Some(n) = self.n_packets {
                head.push(format!("n_packets={n}"));
            }
            if let Some(n) = self.n_bytes {
                head.push(format!("n_bytes={n}"));
            }
        }
        if let Some(t) = self.idle_timeout {
            head.push(format!("idle_timeout={t}"));
        }
        if let Some(t) = self.hard_timeout {
            head.push(format!("hard_timeout={t}"));
        }
        if stats {
            if let Some(a) = self.idle_age {
                head.push(format!("idle_age={a}"));
            }
            if let Some(a) = self.hard_age {
                head.push(format!("hard_age={a}"));
            }
        }
        if let Some(i) = self.importance {
            head.push(format!("importance={i}"));
        }
        for h in &head {
            f.write_str(h)?;
            f.write_str(", ")?;
        }
        let mut wrote = false;
        if let Some(p) = self.priority {
            write!(f, "priority={p}")?;
            wrote = true;
        }
        for flag in &self.flags {
            if std::mem::replace(&mut wrote, true) {
                f.write_str(",")?;
            }
            let name = FLAGS.iter().find(|(_, x)| x == flag).map_or("", |x| x.0);
            f.write_str(name)?;
        }
        if !self.matches.is_empty() {
            if wrote {
                f.write_str(",")?;
            }
            write!(f, "{}", self.matches)?;
            wrote = true;
        }
        if wrote {
            f.write_str(" ")?;
        }
        f.write_str("actions=")?;
        write_list(f, &self.actions)
    }
}

/// What to say about a line whose match part does not parse: without `actions=` anywhere it is
/// most likely no flow at all (a shell prompt, a log line, a table header), so the message says
/// what a flow looks like rather than which of its words tripped the parser first.
fn not_a_flow(line: &str, e: ParseError) -> ParseError {
    if memchr::memmem::find(line.as_bytes(), b"action").is_some() {
        return e;
    }
    ParseError::syntax("not a flow: expected `key=value,...` match fields and `actions=`")
}

fn parse_duration(s: &str) -> Result<u64, ParseError> {
    let body =
        s.strip_suffix('s').ok_or_else(|| ParseError::syntax(format!("duration={s}: expected seconds like 1.605s")))?;
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    let secs: u64 = secs.parse().map_err(|_| ParseError::value(format!("duration={s}: invalid")))?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::value(format!("duration={s}: invalid")));
    }
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    secs.checked_mul(1000)
        .and_then(|x| x.checked_add(ms))
        .ok_or_else(|| ParseError::range(format!("duration={s}: too large")))
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, true)
    }
}

/// A flow printed for `ovs-ofctl add-flow`: no statistics.
pub struct FlowMod<'a>(&'a Flow);

impl fmt::Display for FlowMod<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write(f, false)
    }
}

/// A flow that failed to parse, with where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}: {message}")]
pub struct LineError {
    /// The file (or other origin).
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// What kind of mistake.
    pub kind: ParseErrorKind,
    /// What is wrong.
    pub message: String,
}

impl LineError {
    /// `e` at `origin:line`.
    pub fn new(origin: &str, line: usize, e: ParseError) -> LineError {
        LineError { origin: origin.to_string(), line, kind: e.kind, message: e.message }
    }
}

/// Errors reading a flow, group or port file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is larger than the reader accepts.
    #[error("{path}: file larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// A line that does not parse.
    #[error(transparent)]
    Line(#[from] LineError),
}

/// Largest text file read (flows, groups, ports): 1 GiB (the shared text reader's bound).
pub use crate::textfile::MAX_TEXT_FILE;

/// Reads a text file, bounded by [`MAX_TEXT_FILE`]; invalid UTF-8 is replaced.
pub fn read_text(path: &Path) -> Result<String, FileError> {
    crate::textfile::read_text(path, MAX_TEXT_FILE).map_err(|e| match e {
        crate::textfile::TextFileError::Io { path, source } => FileError::Io { path, source },
        crate::textfile::TextFileError::TooLarge { path, limit } => FileError::TooLarge { path, limit },
    })
}

/// Dumps with at least this many flows are freed on all cores.
const PARALLEL_DROP: usize = 10_000;

impl Drop for FlowDump {
    fn drop(&mut self) {
        // Freeing 10^5 flows' lists costs a fifth of parsing them on one thread: share it out.
        if self.flows.len() >= PARALLEL_DROP {
            use rayon::prelude::*;
            std::mem::take(&mut self.flows).into_par_iter().for_each(drop);
        }
    }
}

/// The flows of one dump, with the line each came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FlowDump {
    /// Where the flows came from (file name).
    pub origin: String,
    /// The flows in file order.
    pub flows: Vec<Flow>,
    /// 1-based line of each flow.
    #[serde(skip)]
    pub lines: Vec<usize>,
    /// Lines that hold no flow and are not blank, comments or headers, in file order: the
    /// first [`MAX_SKIPPED_LINES`] of them (the dump is what the other lines give).
    #[serde(skip)]
    pub skipped: Vec<SkippedLine>,
    /// How many more lines were skipped than [`FlowDump::skipped`] lists.
    #[serde(skip)]
    pub skipped_more: usize,
    /// Every skipped line that looks like a damaged flow (it has `actions=`), listed or not:
    /// a flow of the bridge that the dump does not give, which the simulator must not ignore.
    #[serde(skip)]
    pub damaged: Vec<DamagedFlow>,
    /// Lines that held ANSI colour codes or HTML markup, removed before parsing.
    #[serde(skip)]
    pub noise: NoiseCount,
}

/// A skipped line that has `actions=`: most likely a flow of the bridge, damaged in the copy.
/// Its table and priority are read from its text where they can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedFlow {
    /// 1-based line.
    pub line: usize,
    /// The `table=` the line names, if it names one that parses (none: it could be any table).
    pub table: Option<TableRef>,
    /// The `priority=` the line names, if it parses (none: any priority).
    pub priority: Option<u16>,
}

impl DamagedFlow {
    /// The damaged flow `text` (at `line`) may be, when it has `actions=`.
    fn of(line: usize, text: &str) -> Option<DamagedFlow> {
        let head = &text[..memchr::memmem::find(text.as_bytes(), b"action")?];
        let (mut table, mut priority) = (None, None);
        for word in head.split([',', ' ', '\t']) {
            if let Some(t) = word.strip_prefix("table=") {
                table = TableRef::parse(t).ok();
            } else if let Some(p) = word.strip_prefix("priority=") {
                priority = p.parse().ok();
            }
        }
        Some(DamagedFlow { line, table, priority })
    }
}

/// How many skipped lines a dump lists one by one ([`FlowDump::skipped`]); the rest are counted.
pub const MAX_SKIPPED_LINES: usize = 100;

/// A line of a dump that does not parse as a flow: where, why, and how it begins. A damaged or
/// pasted line costs that line only; the dump keeps the flows of the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedLine {
    /// Where and why (`FILE:LINE: message`).
    pub error: LineError,
    /// The beginning of the line (at most [`crate::textfile::EXCERPT_CHARS`] characters,
    /// control characters escaped).
    pub excerpt: String,
}

impl fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; line skipped (it reads `{}`)", self.error, self.excerpt)
    }
}

/// Whether a line of a dump carries no flow: blank, comment, a reply header (`NXST_FLOW reply
/// (xid=0x4):`, `OFPST_FLOW reply (OF1.3) (xid=0x2):`) or antctl's `FLOW` column header.
fn skip_line(t: &str) -> bool {
    // `FLOW`: the column header `antctl get ovsflows` prints above the flows.
    t.is_empty() || t.starts_with('#') || t.starts_with("OFPST_") || t.starts_with("NXST_") || t == "FLOW"
}

/// Strips the `N. ` numbering Antrea's design document puts before each flow.
fn strip_numbering(t: &str) -> &str {
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && t[digits..].starts_with(". ") {
        t[digits + 2..].trim_ascii_start()
    } else {
        t
    }
}

/// The flow texts of a dump, one per flow: blank, comment and header lines skipped, lines
/// continued with a trailing `\` joined, ANSI colour codes and HTML markup removed
/// ([`super::noise`], counted in [`FlowTexts::noise`]).
pub(crate) struct FlowTexts<'a> {
    text: &'a str,
    /// Byte offset of the next line.
    pos: usize,
    /// Number of the next line.
    next_line: usize,
    /// The lines that had colour codes or markup removed.
    pub(crate) noise: NoiseCount,
    /// Whether the text holds any byte noise starts with (one scan of the whole text, so that
    /// clean dumps pay nothing per line).
    noisy: bool,
}

/// How many lines of a dump had pasted noise removed, and the first of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoiseCount {
    /// Lines with either.
    pub lines: usize,
    /// Lines with ANSI colour codes.
    pub ansi_lines: usize,
    /// Lines with HTML tags or character references.
    pub html_lines: usize,
    /// The first such line (1-based).
    pub first_line: Option<usize>,
}

impl NoiseCount {
    fn add(&mut self, line: usize, n: Noise) {
        self.ansi_lines += usize::from(n.ansi);
        self.html_lines += usize::from(n.html);
        if n.any() {
            self.lines += 1;
            self.first_line = Some(self.first_line.map_or(line, |f| f.min(line)));
        }
    }

    /// Adds another chunk's counts.
    pub(crate) fn merge(&mut self, o: NoiseCount) {
        self.lines += o.lines;
        self.ansi_lines += o.ansi_lines;
        self.html_lines += o.html_lines;
        self.first_line = match (self.first_line, o.first_line) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// The warning a dump gives when lines were cleaned: `FILE: N line(s) held ...`.
    pub fn warning(&self, origin: &str) -> Option<String> {
        let first = self.first_line?;
        let what = match (self.ansi_lines, self.html_lines) {
            (0, h) => format!("{h} line(s) held HTML markup (a dump copied from a web page or ticket)"),
            (a, 0) => format!("{a} line(s) held ANSI colour codes (`ovs-ofctl --color`, a coloured terminal)"),
            (a, h) => format!("{a} line(s) held ANSI colour codes and {h} HTML markup"),
        };
        Some(format!("{origin}: {what}, removed before reading them (the first at line {first})"))
    }
}

/// One flow's text and the line it starts on; `Err` when the text ends inside a continued line.
pub(crate) type FlowText<'a> = (usize, Result<Cow<'a, str>, &'static str>);

/// Whether `text` has a byte that starts pasted noise (ESC, `<`, `&`).
fn may_be_noisy(text: &str) -> bool {
    memchr::memchr3(0x1b, b'<', b'&', text.as_bytes()).is_some()
}

/// A line as read: colour codes and markup removed, trimmed, without Antrea's numbering.
fn tidy(raw: &str) -> (Cow<'_, str>, Noise) {
    match clean(raw) {
        (Cow::Borrowed(b), n) => (Cow::Borrowed(strip_numbering(b.trim_ascii())), n),
        (Cow::Owned(o), n) => (Cow::Owned(strip_numbering(o.trim_ascii()).to_string()), n),
    }
}

impl<'a> FlowTexts<'a> {
    /// The texts of `text`, whose first line is numbered `first_line`.
    pub(crate) fn new(text: &'a str, first_line: usize) -> Self {
        FlowTexts { text, pos: 0, next_line: first_line, noise: NoiseCount::default(), noisy: may_be_noisy(text) }
    }

    /// The next line, tidied ([`tidy`]).
    fn line(&mut self) -> Option<Cow<'a, str>> {
        let rest = self.text.get(self.pos..).filter(|r| !r.is_empty())?;
        let end = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        self.pos += end + 1;
        self.next_line += 1;
        if !self.noisy {
            return Some(Cow::Borrowed(strip_numbering(rest[..end].trim_ascii())));
        }
        let (t, noise) = tidy(&rest[..end]);
        self.noise.add(self.next_line - 1, noise);
        Some(t)
    }
}

impl<'a> Iterator for FlowTexts<'a> {
    type Item = FlowText<'a>;

    fn next(&mut self) -> Option<FlowText<'a>> {
        let (first, t) = loop {
            let t = self.line()?;
            if !skip_line(&t) {
                break (self.next_line - 1, t);
            }
        };
        let Some(cont) = t.strip_suffix('\\') else { return Some((first, Ok(t))) };
        let mut joined = cont.to_string();
        loop {
            let Some(t) = self.line() else {
                return Some((first, Err(r"file ends inside a continued (\) line")));
            };
            match t.strip_suffix('\\') {
                Some(cont) => joined.push_str(cont),
                None => {
                    joined.push_str(&t);
                    return Some((first, Ok(Cow::Owned(joined))));
                }
            }
        }
    }
}

/// How many flow texts and lines [`FlowTexts`] finds in `text`, without building them: a line
/// that starts (after blanks) with a lower-case letter and ends in neither a blank nor `\\` is a
/// whole flow on its own; only other lines take the full test.
fn count_texts(text: &str) -> (usize, usize) {
    let b = text.as_bytes();
    let noisy = may_be_noisy(text);
    let (mut flows, mut lines, mut continued) = (0, 0, false);
    let mut start = 0;
    while start < b.len() {
        let end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
        let line = &text[start..end];
        start = end + 1;
        lines += 1;
        let bytes = line.as_bytes();
        let first = bytes.iter().position(|&c| c != b' ').map(|i| bytes[i]);
        let simple = matches!(first, Some(b'a'..=b'z'))
            && bytes.last().is_some_and(|&c| c != b'\\' && !c.is_ascii_whitespace())
            && !(noisy && memchr::memchr3(0x1b, b'<', b'&', bytes).is_some());
        if simple && !continued {
            flows += 1;
            continue;
        }
        let (t, _) = tidy(line);
        if !continued {
            if skip_line(&t) {
                continue;
            }
            flows += 1;
        }
        continued = t.ends_with('\\');
    }
    (flows, lines)
}

/// A line-aligned piece of a dump parsed by one thread: its text, first line number, and how
/// many flows it holds.
struct Chunk<'a> {
    text: &'a str,
    first_line: usize,
    flows: usize,
}

/// Splits `text` into pieces of about `size` bytes, cut after a newline that does not end a
/// continued line, and counts each piece's lines and flows (in parallel).
fn chunks(text: &str, size: usize) -> Vec<Chunk<'_>> {
    use rayon::prelude::*;
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > size {
        let mut cut = None;
        let mut from = size;
        while let Some(off) = memchr::memchr(b'\n', &rest.as_bytes()[from..]) {
            let nl = from + off;
            if !rest[..nl].trim_end_matches('\r').ends_with('\\') {
                cut = Some(nl + 1);
                break;
            }
            from = nl + 1;
        }
        let Some(cut) = cut else { break };
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    pieces.push(rest);
    let counts: Vec<(usize, usize)> = if pieces.len() == 1 {
        vec![count_texts(pieces[0])]
    } else {
        pieces.par_iter().map(|p| count_texts(p)).collect()
    };
    let mut line = 1;
    pieces
        .into_iter()
        .zip(counts)
        .map(|(text, (flows, lines))| {
            let chunk = Chunk { text, first_line: line, flows };
            line += lines;
            chunk
        })
        .collect()
}

/// The lines of one chunk that did not parse: the first [`MAX_SKIPPED_LINES`], and a count of
/// the others.
#[derive(Default)]
struct Skips {
    listed: Vec<SkippedLine>,
    more: usize,
    damaged: Vec<DamagedFlow>,
    noise: NoiseCount,
}

impl Skips {
    fn push(&mut self, origin: &str, line: usize, e: ParseError, text: &str) {
        self.damaged.extend(DamagedFlow::of(line, text));
        if self.listed.len() < MAX_SKIPPED_LINES {
            let excerpt = crate::textfile::excerpt(text).to_string();
            self.listed.push(SkippedLine { error: LineError::new(origin, line, e), excerpt });
        } else {
            self.more += 1;
        }
    }
}

/// Parses the flows of `chunk` into `flows` and their line numbers into `lines` (both exactly
/// `chunk.flows` long). A text that does not parse leaves line number 0 in its slot (removed by
/// the caller) and is recorded in the returned [`Skips`].
///
/// Flows of one table tend to share their actions word for word (`goto_table:N`, the same
/// `ct(...)` for every Service, the same `set_field`s for every rule of a policy), so a chunk
/// remembers which earlier flow had each action text and copies that flow's parsed actions
/// instead of parsing the text again. Parsing is a pure function of the text, so the result is
/// the same; the memory is one entry per distinct text of the chunk.
fn parse_chunk(chunk: &Chunk<'_>, origin: &str, flows: &mut [Flow], lines: &mut [usize]) -> Skips {
    let mut scratch = Scratch::default();
    let mut skips = Skips::default();
    // foldhash: a tenth of SipHash's cost on these short keys, still seeded per process.
    let mut parsed_actions: HashMap<&str, usize, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(chunk.flows, Default::default());
    let mut texts = FlowTexts::new(chunk.text, chunk.first_line);
    for (k, ((line, text), number)) in texts.by_ref().zip(lines.iter_mut()).enumerate() {
        let (earlier, rest) = flows.split_at_mut(k);
        let Some(flow) = rest.first_mut() else { break };
        let failed = match text {
            Err(m) => Some((ParseError::syntax(m), Cow::Borrowed(""))),
            Ok(Cow::Borrowed(text)) => match flow.parse_match_into(text, &mut scratch) {
                Err(e) => Some((e, Cow::Borrowed(text))),
                Ok(actions) => match parsed_actions.entry(actions) {
                    Entry::Occupied(e) => {
                        // Only flows that parsed are remembered, so the earlier one is whole.
                        flow.actions = earlier.get(*e.get()).map(|f| f.actions.clone()).unwrap_or_default();
                        None
                    }
                    Entry::Vacant(e) => match flow.parse_actions_into(actions, &mut scratch) {
                        Ok(()) => {
                            e.insert(k);
                            None
                        }
                        Err(err) => Some((err, Cow::Borrowed(text))),
                    },
                },
            },
            Ok(Cow::Owned(text)) => match flow.parse_into(&text, &mut Scratch::default()) {
                Ok(()) => None,
                Err(e) => Some((e, Cow::Owned(text))),
            },
        };
        match failed {
            None => *number = line,
            Some((e, text)) => {
                *number = 0;
                *flow = Flow::default();
                skips.push(origin, line, e, &text);
            }
        }
    }
    skips.noise = texts.noise;
    skips
}

impl FlowDump {
    /// Parses a dump (`dump-flows` output, an Antrea `flows` file, `antctl get ovsflows`, or an
    /// `add-flows` file; a line ending in `\` continues on the next). A line that does not parse
    /// is skipped and recorded ([`FlowDump::skipped`]); the dump holds the other lines' flows.
    /// When lines hold text but none of it parses (not a flow dump at all), the error names the
    /// first bad line. Large dumps are parsed in parallel, in line-aligned chunks, straight into
    /// the dump's one vector.
    pub fn parse(text: &str, origin: &str) -> Result<FlowDump, LineError> {
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 20;
        let chunks = chunks(text, CHUNK);
        let total: usize = chunks.iter().map(|c| c.flows).sum();
        let mut flows: Vec<Flow> = Vec::with_capacity(total);
        let mut lines = vec![0; total];
        let skips: Vec<Skips> = if chunks.len() == 1 {
            flows.resize_with(total, Flow::default);
            vec![parse_chunk(&chunks[0], origin, &mut flows, &mut lines)]
        } else {
            (0..total).into_par_iter().map(|_| Flow::default()).collect_into_vec(&mut flows);
            // Each chunk's own slice of the two vectors.
            let mut jobs = Vec::with_capacity(chunks.len());
            let (mut flows_rest, mut lines_rest) = (flows.as_mut_slice(), lines.as_mut_slice());
            for chunk in &chunks {
                let (f, fr) = flows_rest.split_at_mut(chunk.flows);
                let (l, lr) = lines_rest.split_at_mut(chunk.flows);
                jobs.push((chunk, f, l));
                (flows_rest, lines_rest) = (fr, lr);
            }
            jobs.into_par_iter().map(|(chunk, f, l)| parse_chunk(chunk, origin, f, l)).collect()
        };
        let mut skipped = Vec::new();
        let mut skipped_more = 0;
        let mut damaged = Vec::new();
        let mut noise = NoiseCount::default();
        for s in skips {
            noise.merge(s.noise);
            let room = MAX_SKIPPED_LINES - skipped.len();
            skipped_more += s.more + s.listed.len().saturating_sub(room);
            skipped.extend(s.listed.into_iter().take(room));
            damaged.extend(s.damaged);
        }
        if !skipped.is_empty() {
            // Only slots that parsed carry a line number.
            let mut good = lines.iter().map(|&l| l != 0);
            flows.retain(|_| good.next().unwrap_or(false));
            lines.retain(|&l| l != 0);
            if flows.is_empty() {
                return Err(skipped.swap_remove(0).error);
            }
        }
        Ok(FlowDump { origin: origin.to_string(), flows, lines, skipped, skipped_more, damaged, noise })
    }

    /// Lines skipped in all (listed or not).
    pub fn skipped_count(&self) -> usize {
        self.skipped.len() + self.skipped_more
    }

    /// The flows whose match has an item that names no field OVS knows (a typo like `w_dst=`,
    /// a log timestamp before `cookie=`): each one's line and first such item.
    /// Such a flow matches nothing real as written, so the simulator cannot use it.
    pub fn unusable(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.flows.iter().zip(&self.lines).filter_map(|(f, l)| f.matches.other.first().map(|o| (*l, o.as_str())))
    }

    /// What a reader of this dump is to be told, one message each naming `FILE:LINE`: the lines
    /// skipped, then the flows with an unknown match item ([`FlowDump::unusable`]), each list
    /// bounded by [`MAX_SKIPPED_LINES`] and followed by how many more there are.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.noise.warning(&self.origin).into_iter().collect();
        out.extend(self.skipped.iter().map(ToString::to_string));
        if self.skipped_more > 0 {
            out.push(format!(
                "{}: {} more lines that are not flows skipped (the first {MAX_SKIPPED_LINES} are listed)",
                self.origin, self.skipped_more
            ));
        }
        let mut unusable = self.unusable();
        for (line, item) in unusable.by_ref().take(MAX_SKIPPED_LINES) {
            out.push(format!(
                "{}:{line}: unknown match field `{}`: the flow is kept but cannot be simulated (which packets it \
                 matches is unknown)",
                self.origin,
                crate::textfile::excerpt(item)
            ));
        }
        let more = unusable.count();
        if more > 0 {
            out.push(format!(
                "{}: {more} more flows with an unknown match field (the first {MAX_SKIPPED_LINES} are listed)",
                self.origin
            ));
        }
        out
    }

    /// `N flows`, followed by how many lines were skipped, how many flows cannot be simulated and
    /// how many lines had colour codes or markup removed, when there are any (for listings of
    /// inputs).
    pub fn counts(&self) -> String {
        let mut s = format!("{} flows", self.flows.len());
        let skipped = self.skipped.len() + self.skipped_more;
        if skipped > 0 {
            s.push_str(&format!(", {skipped} {} skipped", if skipped == 1 { "line" } else { "lines" }));
        }
        let unusable = self.unusable().count();
        if unusable > 0 {
            s.push_str(&format!(", {unusable} with an unknown match field"));
        }
        match self.noise.lines {
            0 => {}
            1 => s.push_str(", colour codes or markup removed from 1 line"),
            n => s.push_str(&format!(", colour codes or markup removed from {n} lines")),
        }
        s
    }

    /// Takes the flows out (the dump itself frees them in parallel when dropped, so they cannot
    /// be moved out of it directly).
    pub fn into_flows(mut self) -> Vec<Flow> {
        std::mem::take(&mut self.flows)
    }

    /// Reads and parses a dump file.
    pub fn load(path: &Path) -> Result<FlowDump, FileError> {
        let text = read_text(path)?;
        Ok(FlowDump::parse(&text, &path.display().to_string())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ovs::{Field, Value};

    #[test]
    fn dump_line_with_stats() {
        let l = " cookie=0x1010000000000, duration=1.605s, table=PipelineRootClassifier, n_packets=2, n_bytes=84, idle_age=1, priority=200,arp actions=goto_table:ARPSpoofGuard";
        let f = Flow::parse(l).unwrap();
        assert_eq!(f.cookie, Some(0x1010000000000));
        assert_eq!(f.duration_ms, Some(1605));
        assert_eq!(f.n_packets, Some(2));
        assert_eq!(f.priority(), 200);
        assert_eq!(f.to_string(), l.trim());
        assert_eq!(Flow::parse(&f.to_string()).unwrap(), f);
        assert_eq!(
            f.flow_mod().to_string(),
            "cookie=0x1010000000000, table=PipelineRootClassifier, priority=200,arp actions=goto_table:ARPSpoofGuard"
        );
    }

    #[test]
    fn add_flow_syntax() {
        let f = Flow::parse("in_port=LOCAL dl_vlan=9 dl_src=00:0A:E4:25:6B:B0 actions=drop").unwrap();
        assert_eq!(f.to_string(), "in_port=LOCAL,dl_vlan=9,dl_src=00:0a:e4:25:6b:b0 actions=drop");
        let f = Flow::parse("tcp,tp_src[6..10]=19,actions=flood").unwrap();
        assert_eq!(f.to_string(), "tcp,tp_src=0x4c0/0x7c0 actions=FLOOD");
        let f = Flow::parse("udp,nw_src=192.168.0.3,tp_dst=53 actions=pop_queue,output:1").unwrap();
        assert_eq!(f.matches.bits(crate::ovs::Field::UdpDst), Some((53, 0xffff)));
    }

    #[test]
    fn big_dumps_parse_in_chunks_with_true_line_numbers() {
        let line = "cookie=0x1, table=3, n_packets=0, n_bytes=0, priority=200,ip,reg0=0x3/0xf,nw_dst=10.10.0.0/24 actions=goto_table:4\n";
        let n = (3 << 20) / line.len();
        let mut text = line.repeat(n);
        // A continued line right where a chunk would be cut.
        let at = ((1 << 20) / line.len()) * line.len();
        text.insert_str(at, &format!("table=1,ip{} \\\nactions=drop\n", " ".repeat(2 * line.len())));
        let dump = FlowDump::parse(&text, "big").unwrap();
        assert_eq!(dump.flows.len(), n + 1);
        assert!(dump.lines.windows(2).all(|w| w[0] < w[1]));
        // A bad line in the first chunk and one in the last cost those lines only.
        let mut bad = text.clone();
        bad.insert_str(0, "table=0,reg0=zz actions=drop\n");
        bad.push_str("table=0,reg0=zz actions=drop\n");
        let d = FlowDump::parse(&bad, "big").unwrap();
        assert_eq!(d.flows.len(), n + 1);
        assert_eq!(d.lines.len(), n + 1);
        assert_eq!(d.lines[0], 2);
        assert!(d.lines.windows(2).all(|w| w[0] < w[1]));
        let at: Vec<usize> = d.skipped.iter().map(|s| s.error.line).collect();
        assert_eq!(at, [1, bad.lines().count()]);
        assert!(d.flows.iter().all(|f| *f != Flow::default()));
    }

    #[test]
    fn dump_lines_skipped_joined_and_numbered() {
        let text = "NXST_FLOW reply (xid=0x4):\r\n # comment\r\n\r\n 1. table=0, priority=1 \\\r\n  actions=drop\r\ntable=1 actions=drop";
        let dump = FlowDump::parse(text, "crlf").unwrap();
        assert_eq!(dump.flows.len(), 2);
        assert_eq!(dump.lines, vec![4, 6]);
        assert_eq!(dump.flows[0].to_string(), "table=0, priority=1 actions=drop");
        let d = FlowDump::parse("table=0 actions=drop\ntable=1 \\\n", "cut").unwrap();
        assert_eq!(d.flows.len(), 1);
        let e = &d.skipped[0].error;
        assert_eq!((e.line, e.message.as_str()), (2, r"file ends inside a continued (\) line"));
    }

    #[test]
    fn repeated_action_texts_parse_as_if_alone() {
        // Several flows per action text, across chunk boundaries, with a continued line between.
        let shapes = [
            "ct(commit,table=22,zone=65520,exec(set_field:0x20/0x20->ct_mark,move:NXM_NX_REG0[0..3]->NXM_NX_CT_MARK[0..3]))",
            "set_field:0a:00:00:00:00:01->eth_dst,goto_table:22",
            "output:\"antrea-gw0\"",
            "drop",
        ];
        let mut text = String::new();
        for i in 0..40_000 {
            text.push_str(&format!(
                "table=1, priority={}, ip,nw_dst=10.0.{}.{} actions={}\n",
                i % 300,
                i % 200,
                i % 250,
                shapes[i % 4]
            ));
            if i == 20_000 {
                text.push_str("table=2, priority=1 \\\n actions=drop\n");
            }
        }
        let dump = FlowDump::parse(&text, "repeat").unwrap();
        assert_eq!(dump.flows.len(), 40_001);
        let alone: Vec<Flow> = text.replace("\\\n", "").lines().map(|l| Flow::parse(l).unwrap()).collect();
        assert!(dump.flows == alone);
        assert!(dump.flows.iter().all(|f| f.actions.capacity() == f.actions.len()));
        // Match items that read differently after different protocols, and repeated fields.
        let ctx = "udp,tp_dst=53 actions=drop\ntcp,tp_dst=53 actions=drop\narp,nw_src=10.0.0.1 actions=drop\n\
                   ip,nw_src=10.0.0.1 actions=drop\nicmp6,icmp_type=1 actions=drop\nicmp,icmp_type=1 actions=drop\n\
                   reg0=1,reg0=2 actions=drop\nreg0=2,reg0=1 actions=drop\nip,nw_proto=17,tp_dst=53 actions=drop\n";
        let dump = FlowDump::parse(ctx, "ctx").unwrap();
        let alone: Vec<Flow> = ctx.lines().map(|l| Flow::parse(l).unwrap()).collect();
        assert!(dump.flows == alone);
        let fields: Vec<Field> = dump.flows.iter().map(|f| f.matches.fields.last().unwrap().field).collect();
        assert_eq!(
            &fields[..6],
            [Field::UdpDst, Field::TcpDst, Field::ArpSpa, Field::IpSrc, Field::Icmpv6Type, Field::IcmpType]
        );
        assert_eq!(
            dump.flows[6].matches.fields,
            vec![FieldMatch { field: Field::Reg(0), value: Value::exact(Field::Reg(0), 2) }]
        );
        assert_eq!(fields[8], Field::UdpDst);
        // A bad action text fails on its own line even when an earlier flow had a good one.
        let bad = "table=0 actions=goto_table:1\ntable=0 actions=goto_table:1,set_field:1->nope\n";
        let d = FlowDump::parse(bad, "b").unwrap();
        assert_eq!((d.flows.len(), d.skipped[0].error.line), (1, 2));
    }

    #[test]
    fn errors_say_what() {
        assert!(Flow::parse("priority=1,ip").unwrap_err().message.contains("actions"));
        assert!(Flow::parse("tp_dst=80 actions=drop").unwrap_err().message.contains("prerequisites"));
        assert!(Flow::parse("ip,nw_tos=0xf0/0xf0,actions=drop").unwrap_err().message.contains("invalid mask"));
        assert!(Flow::parse("tun_tos=0,actions=drop").unwrap_err().message.contains("cannot be matched"));
        let d = FlowDump::parse("table=0 actions=drop\n\ntable=0,reg0=zz actions=drop\n", "f.txt").unwrap();
        assert_eq!(d.skipped[0].error.line, 3);
        assert!(d.skipped[0].to_string().starts_with("f.txt:3: "), "{}", d.skipped[0]);
        // A shell prompt or a log line is no flow, and the message says what one looks like.
        for junk in ["user@node:~$ ovs-ofctl dump-flows br-int", "[root@k8s-node1 ~]# ovs-ofctl dump-flows br-int"] {
            let e = Flow::parse(junk).unwrap_err();
            assert!(
                e.message.starts_with("not a flow: expected `key=value,...` match fields and `actions=`"),
                "{junk}: {e}"
            );
        }
    }

    #[test]
    fn pasted_lines_cost_only_themselves() {
        let text = "user@node:~$ kubectl exec -n kube-system antrea-agent-x -c antrea-agent -- antctl get ovsflows\n\
                    FLOW\n\
                    table=0, priority=200,ip actions=goto_table:1\n\
                    user@node:~$ ovs-ofctl dump-flows br-int\n\
                    NXST_FLOW reply (xid=0x4):\n\
                    OFPST_FLOW reply (OF1.3) (xid=0x2):\n\
                    \u{1b}[1mtable=1, priority=0 actions=drop\n\
                    table=1, priority=0 actions=drop\n";
        let d = FlowDump::parse(text, "node1/flows").unwrap();
        // The colour codes of line 7 are removed: it is a flow.
        assert_eq!(d.lines, [3, 7, 8], "{:?}", d.skipped);
        let skipped: Vec<String> = d.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(skipped.len(), 2, "{skipped:#?}");
        assert!(skipped[0].starts_with("node1/flows:1: not a flow: expected"), "{}", skipped[0]);
        assert!(skipped[0].contains("it reads `user@node:~$ kubectl exec"), "{}", skipped[0]);
        assert!(skipped[0].ends_with("…`)"), "excerpts are short: {}", skipped[0]);
        assert!(skipped[1].starts_with("node1/flows:4: not a flow"), "{}", skipped[1]);
        assert_eq!(
            d.warnings()[0],
            "node1/flows: 1 line(s) held ANSI colour codes (`ovs-ofctl --color`, a coloured terminal), removed before reading them (the first at line 7)"
        );
        // Nothing that parses: the whole file is refused, naming the first bad line.
        let e = FlowDump::parse("# a README\n\nThis is not a dump.\nNor is this.\n", "README").unwrap_err();
        assert_eq!((e.origin.as_str(), e.line), ("README", 3));
        assert!(e.to_string().starts_with("README:3: not a flow"), "{e}");
        // Empty and header-only files are empty dumps, as before.
        assert!(FlowDump::parse("FLOW\n", "antctl").unwrap().flows.is_empty());
        assert_eq!(d.counts(), "3 flows, 2 lines skipped, colour codes or markup removed from 1 line");
        // Neither skipped line has `actions=`: neither may be a flow of the bridge.
        assert!(d.damaged.is_empty());
        let d = FlowDump::parse("table=0 actions=drop\ntabel=1, priority=0,reg0=zz actions=drop\n", "f").unwrap();
        assert_eq!(d.damaged, [DamagedFlow { line: 2, table: None, priority: Some(0) }], "table unreadable");
        let d = FlowDump::parse("table=0 actions=drop\ntable=L3Forwarding, priority=200,reg0=zz actions=drop\n", "f")
            .unwrap();
        let table = Some(TableRef::Name("L3Forwarding".into()));
        assert_eq!(d.damaged, [DamagedFlow { line: 2, table, priority: Some(200) }]);
    }

    #[test]
    fn unknown_match_fields_make_a_flow_unusable_and_say_where() {
        let text = "table=0, priority=1 actions=drop\n\
                    2024-05-01T10:00:00.123Z cookie=0x1, table=0, priority=200,ip actions=drop\n\
                    table=1, priority=200,w_src=10.0.0.2,ip actions=drop\n\
                    table=2, priority=200,ip,w_dst=10.0.0.1 actions=drop\n";
        let d = FlowDump::parse(text, "n/flows").unwrap();
        assert!(d.skipped.is_empty());
        let unusable: Vec<(usize, &str)> = d.unusable().collect();
        assert_eq!(unusable, [(2, "2024-05-01T10:00:00.123Z"), (3, "w_src=10.0.0.2"), (4, "w_dst=10.0.0.1")]);
        // The rest of such a flow is read as written.
        assert_eq!((d.flows[1].priority(), d.flows[1].cookie), (200, Some(1)));
        let w = d.warnings();
        assert_eq!(w.len(), 3, "{w:#?}");
        assert_eq!(d.counts(), "4 flows, 3 with an unknown match field");
        assert!(
            w[2].starts_with(
                "n/flows:4: unknown match field `w_dst=10.0.0.1`: the flow is kept but cannot be simulated"
            ),
            "{}",
            w[2]
        );
        // Bounded like the skipped lines.
        let many = "table=0, priority=1,w_dst=1 actions=drop\n".repeat(MAX_SKIPPED_LINES + 7);
        let w = FlowDump::parse(&many, "m").unwrap().warnings();
        assert_eq!(w.len(), MAX_SKIPPED_LINES + 1);
        assert_eq!(w[MAX_SKIPPED_LINES], "m: 7 more flows with an unknown match field (the first 100 are listed)");
    }

    #[test]
    fn skipped_lines_are_listed_up_to_a_bound() {
        let mut text = "junk\n".repeat(MAX_SKIPPED_LINES + 50);
        text.push_str("table=0 actions=drop\n");
        let d = FlowDump::parse(&text, "j").unwrap();
        assert_eq!((d.flows.len(), d.skipped.len(), d.skipped_more), (1, MAX_SKIPPED_LINES, 50));
        assert_eq!(d.lines, [MAX_SKIPPED_LINES + 51]);
        // Across chunks too.
        let line = "table=0, priority=1,ip actions=drop\n";
        let mut big = String::new();
        while big.len() < 3 << 20 {
            big.push_str(line);
            big.push_str("junk junk\n");
        }
        let d = FlowDump::parse(&big, "big").unwrap();
        let junk = big.lines().filter(|l| l.starts_with("junk")).count();
        assert_eq!(d.skipped.len() + d.skipped_more, junk);
        assert_eq!(d.skipped.len(), MAX_SKIPPED_LINES);
        assert_eq!(d.flows.len(), big.lines().count() - junk);
        assert!(d.lines.iter().all(|l| l % 2 == 1));
    }

    proptest::proptest! {
        /// The quick count that sizes a dump's vector agrees with the texts the parse walks, on
        /// lines mixing flows, headers, comments, numbering, CRs, blanks and continuations.
        #[test]
        fn count_texts_agrees_with_flow_texts(parts in proptest::collection::vec(proptest::sample::select(vec![
            "table=0 actions=drop", " cookie=0x1, table=0 actions=drop", "NXST_FLOW reply:", "OFPST_FLOW", "# c",
            "", " ", "\t", "\r", "1. ip actions=drop", "12. # not a comment", "a \\", "b\\ ", "\\", "x)\r", "Table=1",
            "\u{e9}t\u{e9}", "\n", "\n\n",
        ]), 0..24)) {
            let text = parts.concat();
            let mut texts = FlowTexts::new(&text, 0);
            let flows = texts.by_ref().count();
            proptest::prop_assert_eq!(count_texts(&text), (flows, texts.next_line), "{:?}", text);
        }
    }
}
