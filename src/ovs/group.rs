//! `ovs-ofctl dump-groups` lines (and Antrea's `groups` file): group id, type, buckets with
//! weights and actions.

use super::action::{parse_actions, write_list, Action};
use super::flow::{read_text, FileError, LineError, NoiseCount, SkippedLine, MAX_SKIPPED_LINES};
use super::lex::{find_keyword, split_top, Sep};
use super::value::parse_int;
use crate::ovs::error::ParseError;
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// Group type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupType {
    /// Every bucket gets a copy.
    All,
    /// One bucket chosen by hash (Antrea's Service load balancing).
    Select,
    /// One bucket.
    Indirect,
    /// First live bucket.
    FastFailover,
}

impl GroupType {
    fn parse(s: &str) -> Result<GroupType, ParseError> {
        Ok(match s {
            "all" => GroupType::All,
            "select" => GroupType::Select,
            "indirect" => GroupType::Indirect,
            "ff" | "fast_failover" => GroupType::FastFailover,
            _ => return Err(ParseError::unknown(format!("type={s}: unknown group type"))),
        })
    }

    fn name(self) -> &'static str {
        match self {
            GroupType::All => "all",
            GroupType::Select => "select",
            GroupType::Indirect => "indirect",
            GroupType::FastFailover => "ff",
        }
    }
}

/// One bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Bucket {
    /// `bucket_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    /// `weight` (select groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u16>,
    /// `watch_port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_port: Option<String>,
    /// `watch_group`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_group: Option<u32>,
    /// Actions.
    pub actions: Vec<Action>,
}

/// One group.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Group {
    /// Group id.
    pub id: u32,
    /// Type.
    #[serde(rename = "type")]
    pub kind: GroupType,
    /// `selection_method`, `fields(...)` and other group properties, verbatim.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// Buckets in order.
    pub buckets: Vec<Bucket>,
}

impl Group {
    /// Parses one `dump-groups` line.
    pub fn parse(line: &str) -> Result<Group, ParseError> {
        let line = line.trim();
        if !line.contains("group_id=") {
            return Err(ParseError::syntax("not a group: expected `group_id=N,type=TYPE,bucket=...`"));
        }
        let first_bucket = find_keyword(line, "bucket=").unwrap_or(line.len());
        let (head, mut rest) = line.split_at(first_bucket);
        let mut id = None;
        let mut kind = None;
        let mut properties = Vec::new();
        for tok in split_top(head, Sep::CommaBlank)? {
            match tok.split_once('=') {
                Some(("group_id", v)) => {
                    id = Some(
                        parse_int(v)
                            .and_then(|v| u32::try_from(v).ok())
                            .ok_or_else(|| ParseError::value(format!("group_id={v}: invalid")))?,
                    )
                }
                Some(("type", v)) => kind = Some(GroupType::parse(v)?),
                _ => properties.push(tok.to_string()),
            }
        }
        let mut buckets = Vec::new();
        while let Some(b) = rest.strip_prefix("bucket=") {
            let end = find_keyword(b, "bucket=").unwrap_or(b.len());
            let text = b[..end].trim_end_matches([',', ' ']);
            buckets.push(parse_bucket(text)?);
            rest = &b[end..];
        }
        Ok(Group {
            id: id.ok_or_else(|| ParseError::missing("group without group_id"))?,
            kind: kind.ok_or_else(|| ParseError::missing("group without type"))?,
            properties,
            buckets,
        })
    }
}

fn parse_bucket(text: &str) -> Result<Bucket, ParseError> {
    let mut b = Bucket::default();
    let mut rest = text;
    loop {
        let (tok, after) = match rest.find(',') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let kv = tok.split_once(':').or_else(|| tok.split_once('='));
        match kv {
            Some(("bucket_id", v)) => b.id = Some(num(v)?),
            Some(("weight", v)) => b.weight = Some(num(v)?),
            Some(("watch_port", v)) => b.watch_port = Some(v.to_string()),
            Some(("watch_group", v)) => b.watch_group = Some(num(v)?),
            _ => break,
        }
        rest = after;
        if rest.is_empty() {
            break;
        }
    }
    let actions = rest.strip_prefix("actions=").unwrap_or(rest);
    b.actions = parse_actions(actions)?;
    Ok(b)
}

fn num<T: TryFrom<u128>>(v: &str) -> Result<T, ParseError> {
    parse_int(v).and_then(|x| T::try_from(x).ok()).ok_or_else(|| ParseError::value(format!("{v}: invalid number")))
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "group_id={},type={}", self.id, self.kind.name())?;
        for p in &self.properties {
            write!(f, ",{p}")?;
        }
        for b in &self.buckets {
            f.write_str(",bucket=")?;
            if let Some(i) = b.id {
                write!(f, "bucket_id:{i},")?;
            }
            if let Some(w) = b.weight {
                write!(f, "weight:{w},")?;
            }
            if let Some(w) = &b.watch_port {
                write!(f, "watch_port:{w},")?;
            }
            if let Some(w) = b.watch_group {
                write!(f, "watch_group:{w},")?;
            }
            f.write_str("actions=")?;
            write_list(f, &b.actions)?;
        }
        Ok(())
    }
}

/// Parses a `dump-groups` output or Antrea `groups` file: blank, comment and header lines
/// skipped, a line ending in `\` continued on the next (as in flow dumps).
pub fn parse_groups(text: &str, origin: &str) -> Result<Vec<Group>, LineError> {
    let mut out = Vec::new();
    for (line, t) in super::flow::FlowTexts::new(text, 1) {
        let t = t.map_err(|m| LineError::new(origin, line, ParseError::syntax(m)))?;
        out.push(Group::parse(&t).map_err(|e| LineError::new(origin, line, e))?);
    }
    Ok(out)
}

/// Reads a groups file, strictly ([`parse_groups`]).
pub fn load_groups(path: &Path) -> Result<Vec<Group>, FileError> {
    let text = read_text(path)?;
    Ok(parse_groups(&text, &path.display().to_string())?)
}

/// The groups of one dump as pasted or damaged: a line that does not parse costs that group
/// only, and is recorded (like [`super::FlowDump::skipped`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupDump {
    /// Where the groups came from (file name).
    pub origin: String,
    /// The groups that parsed, in file order.
    pub groups: Vec<Group>,
    /// The first [`MAX_SKIPPED_LINES`] lines that hold no group and are not blank, comments or
    /// headers.
    pub skipped: Vec<SkippedLine>,
    /// How many more lines were skipped than [`GroupDump::skipped`] lists.
    pub skipped_more: usize,
    /// Lines that held ANSI colour codes or HTML markup, removed before parsing.
    pub noise: NoiseCount,
}

impl GroupDump {
    /// Parses a `dump-groups` output or Antrea `groups` file; a line that does not parse is
    /// skipped and recorded. When lines hold text but none of it parses (not a group dump at
    /// all), the error names the first bad line.
    pub fn parse(text: &str, origin: &str) -> Result<GroupDump, LineError> {
        let mut d = GroupDump { origin: origin.to_string(), ..GroupDump::default() };
        let mut first_error = None;
        let mut texts = super::flow::FlowTexts::new(text, 1);
        for (line, t) in texts.by_ref() {
            let (e, quoted) = match t {
                Ok(t) => match Group::parse(&t) {
                    Ok(g) => {
                        d.groups.push(g);
                        continue;
                    }
                    Err(e) => (e, crate::textfile::excerpt(&t).to_string()),
                },
                Err(m) => (ParseError::syntax(m), crate::textfile::excerpt(line_text(text, line)).to_string()),
            };
            let error = LineError::new(origin, line, e);
            first_error.get_or_insert_with(|| error.clone());
            if d.skipped.len() < MAX_SKIPPED_LINES {
                d.skipped.push(SkippedLine { error, excerpt: quoted });
            } else {
                d.skipped_more += 1;
            }
        }
        d.noise = texts.noise;
        match first_error {
            Some(e) if d.groups.is_empty() => Err(e),
            _ => Ok(d),
        }
    }

    /// Lines skipped in all (listed or not).
    pub fn skipped_count(&self) -> usize {
        self.skipped.len() + self.skipped_more
    }

    /// What a reader of this dump is to be told, one message each naming `FILE:LINE`.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self.noise.warning(&self.origin).into_iter().collect();
        out.extend(self.skipped.iter().map(ToString::to_string));
        if self.skipped_more > 0 {
            out.push(format!(
                "{}: {} more lines that are not groups skipped (the first {MAX_SKIPPED_LINES} are listed)",
                self.origin, self.skipped_more
            ));
        }
        out
    }

    /// Why a group the flows name but this dump lacks is unknown rather than absent, when lines
    /// were skipped: it may be one of them.
    pub fn missing_group_note(&self) -> Option<String> {
        let first = self.skipped.first()?;
        Some(format!(
            "{} had {} line(s) that are not groups skipped (the first at line {}): it may be one of them",
            self.origin,
            self.skipped_count(),
            first.error.line
        ))
    }
}

/// Line `n` (1-based) of `text`, for quoting a skipped line (the first line of a continued one).
fn line_text(text: &str, n: usize) -> &str {
    text.lines().nth(n.saturating_sub(1)).unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn antrea_group() {
        let l = "group_id=10,type=select,bucket=bucket_id:0,weight:100,actions=set_field:0xa0a0018->reg3,set_field:0x50/0xffff->reg4,resubmit(,EndpointDNAT),bucket=bucket_id:1,weight:100,actions=set_field:0x4000000/0x4000000->reg4,set_field:0xa0a0106->reg3,set_field:0x50/0xffff->reg4,resubmit(,EndpointDNAT)";
        let g = Group::parse(l).unwrap();
        assert_eq!(g.id, 10);
        assert_eq!(g.kind, GroupType::Select);
        assert_eq!(g.buckets.len(), 2);
        assert_eq!(g.buckets[1].weight, Some(100));
        assert_eq!(g.to_string(), l);
        let g = Group::parse("group_id=1,type=all,bucket=output:1,bucket=output:2").unwrap();
        assert_eq!(g.buckets.len(), 2);
        assert_eq!(Group::parse(&g.to_string()).unwrap(), g);
        assert!(Group::parse("type=select,bucket=actions=drop").is_err());
    }

    #[test]
    fn dump_lines_continued_numbered_and_skipped() {
        let text = "OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):\r\n group_id=1,type=all,\\\r\n  bucket=output:1,\\\n bucket=output:2\n\n # c\ngroup_id=2,type=all,bucket=output:3\n";
        let g = parse_groups(text, "groups").unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].buckets.len(), 2);
        assert_eq!(g[1].id, 2);
        let e = parse_groups("group_id=1,type=all,bucket=output:1\ngroup_id=x,type=all\n", "g").unwrap_err();
        assert_eq!((e.origin.as_str(), e.line), ("g", 2));
        let e = parse_groups("group_id=1,type=all,\\\n", "g").unwrap_err();
        assert!(e.message.contains("continued"), "{e}");
    }

    #[test]
    fn a_bad_line_costs_that_group_only() {
        let text = "group_id=1,type=all,bucket=output:1\n$ ovs-ofctl dump-groups br-int\ngroup_id=2,type=all,bucket=output:3\ngroup_id=3,type=sel\n";
        let d = GroupDump::parse(text, "groups").unwrap();
        assert_eq!(d.groups.iter().map(|g| g.id).collect::<Vec<_>>(), [1, 2]);
        let w = d.warnings();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("groups:2: ") && w[0].contains("it reads `$ ovs-ofctl dump-groups br-int`"), "{w:?}");
        assert!(w[1].starts_with("groups:4: ") && w[1].contains("unknown group type"), "{w:?}");
        assert!(d
            .missing_group_note()
            .unwrap()
            .contains("2 line(s) that are not groups skipped (the first at line 2)"));
        // Nothing parses: not a group dump at all, the first bad line named.
        let e = GroupDump::parse("hello\nworld\n", "g").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(GroupDump::parse("", "g").unwrap().groups.is_empty());
    }
}
