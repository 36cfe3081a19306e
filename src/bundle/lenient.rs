//! Lenient access to the agent's YAML files (antrea-traceflow.md §5.1 caveat): keys compared
//! case-insensitively and without underscores (`groupMembers`, `groupmembers`), embedded
//! metadata nested or inlined, IPs as strings, base64 (`!!binary`) or byte lists.

use serde_json::Value;
use std::net::IpAddr;

/// Case- and underscore-insensitive key lookup.
pub fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter().find(|(k, _)| k.replace('_', "").eq_ignore_ascii_case(&key.replace('_', ""))).map(|(_, v)| v)
    })
}

/// A nested lookup.
pub fn path<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(v, |cur, k| get(cur, k))
}

/// A string at `key`.
pub fn string(v: &Value, key: &str) -> Option<String> {
    get(v, key).and_then(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// An array at `key` (absent or null = empty).
pub fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    get(v, key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// A Kubernetes `IntOrString` value (a port or target port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A name.
    Str(String),
}

/// An `IntOrString` as JSON writes it (`80`, `"http"`) or as Go's YAML encoders write the
/// struct, which has no YAML marshaller: `{type: 0, intval: 80, strval: ""}` (`type: 1` for a
/// name in `strval`). A string of digits is read as the number; `None` for anything else.
pub fn int_or_string(v: &Value) -> Option<IntOrString> {
    match v {
        Value::Number(n) => n.as_i64().map(IntOrString::Int),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                None
            } else if s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok().map(IntOrString::Int)
            } else {
                Some(IntOrString::Str(s.to_string()))
            }
        }
        Value::Object(_) => {
            let int = || get(v, "intVal").and_then(Value::as_i64).map(IntOrString::Int);
            let name = || {
                get(v, "strVal")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(|s| IntOrString::Str(s.to_string()))
            };
            match get(v, "type").and_then(Value::as_i64) {
                Some(0) => int(),
                Some(1) => name(),
                Some(_) => None,
                None => name().or_else(int),
            }
        }
        _ => None,
    }
}

/// `metadata` / `objectmeta` (or inlined) name and namespace.
pub fn meta(v: &Value) -> (Option<String>, Option<String>) {
    let m = get(v, "metadata").or_else(|| get(v, "objectmeta")).unwrap_or(v);
    (string(m, "name"), string(m, "namespace"))
}

/// Decodes standard base64 (with or without padding); `None` if malformed.
pub fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut n = 0;
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
    }
    Some(out)
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => {
            let a = <[u8; 16]>::try_from(b).ok()?;
            let v6 = std::net::Ipv6Addr::from(a);
            // Go stores IPv4 as IPv4-mapped 16-byte slices.
            Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4))
        }
        _ => None,
    }
}

/// An IP written as a string, base64 bytes, a byte list, or `{ip: ...}`.
pub fn ip(v: &Value) -> Option<IpAddr> {
    match v {
        Value::String(s) => s.parse().ok().or_else(|| base64(s).and_then(|b| ip_from_bytes(&b))),
        Value::Array(a) => {
            let bytes: Option<Vec<u8>> = a.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            ip_from_bytes(&bytes?)
        }
        Value::Object(_) => get(v, "ip").and_then(ip),
        _ => None,
    }
}

/// An address as agentinfo's `transportInterfaceIPs` holds it: Go's `IPNet.String()`, i.e. a
/// CIDR (`192.168.77.102/24`, `fd00:77::102/64`; Antrea v2.6+), or a bare IP in any encoding
/// [`ip`] reads. The prefix length must fit the family; it is dropped (the address is what
/// tunnels are addressed to).
pub fn interface_ip(v: &Value) -> Option<IpAddr> {
    if let Value::String(s) = v {
        if let Some((addr, len)) = s.trim().split_once('/') {
            let addr: IpAddr = addr.parse().ok()?;
            let len: u8 = len.parse().ok()?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            return (len <= max).then_some(addr);
        }
    }
    ip(v)
}

/// Hands every item of every YAML document of a file to `f` (see [`super::yaml`]: budgets
/// checked before anything is materialised, one item held at a time). A document that does not
/// parse, or breaks a budget, is reported as (file line, message) and costs only what of it
/// had not been handed over; the other documents are read.
pub fn each_item(text: &str, mut f: impl FnMut(Value)) -> Vec<(usize, String)> {
    let mut errors = Vec::new();
    let mut budget = super::yaml::AliasBudget::new();
    for doc in super::yaml::Documents::new(text.as_bytes()) {
        let doc = match doc {
            Ok(d) => d,
            Err(e @ super::yaml::DocumentError::TooLarge { first_line }) => {
                errors.push((first_line, e.to_string()));
                continue;
            }
            Err(e @ super::yaml::DocumentError::Io { line, .. }) => {
                errors.push((line, e.to_string()));
                break;
            }
        };
        if doc.text.trim().is_empty() {
            continue;
        }
        if let Err(e) = super::yaml::for_each_item(&doc.text, &mut budget, |v, _| f(v)) {
            errors.push((doc.first_line + e.line - 1, format!("column {}: {}", e.column, e.message)));
        }
    }
    errors
}

/// The YAML documents of a file (`---` separated, or one list / `items` object), as JSON values,
/// and the documents that could not be read (see [`each_item`]).
pub fn documents(text: &str) -> (Vec<Value>, Vec<(usize, String)>) {
    let mut docs = Vec::new();
    let errors = each_item(text, |v| docs.push(v));
    (docs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_in_every_encoding() {
        assert_eq!(ip(&Value::String("10.10.0.5".into())), Some("10.10.0.5".parse().unwrap()));
        assert_eq!(ip(&Value::String("CgoABQ==".into())), Some("10.10.0.5".parse().unwrap()));
        assert_eq!(ip(&serde_json::json!([10, 10, 0, 5])), Some("10.10.0.5".parse().unwrap()));
        assert_eq!(
            ip(&serde_json::json!([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 10, 0, 5])),
            Some("10.10.0.5".parse().unwrap())
        );
        assert_eq!(interface_ip(&Value::String("192.168.77.102/24".into())), Some("192.168.77.102".parse().unwrap()));
        assert_eq!(interface_ip(&Value::String("fd00:77::102/64".into())), Some("fd00:77::102".parse().unwrap()));
        assert_eq!(interface_ip(&Value::String("192.168.77.102".into())), Some("192.168.77.102".parse().unwrap()));
        assert_eq!(interface_ip(&Value::String("192.168.77.102/33".into())), None);
        assert_eq!(interface_ip(&Value::String("fd00::1/129".into())), None);
        assert_eq!(interface_ip(&Value::String("eth0/24".into())), None);
        let ios = |v: Value| int_or_string(&v);
        assert_eq!(ios(serde_json::json!({"type": 0, "intval": 80, "strval": ""})), Some(IntOrString::Int(80)));
        assert_eq!(
            ios(serde_json::json!({"type": 1, "intval": 0, "strval": "http"})),
            Some(IntOrString::Str("http".into()))
        );
        assert_eq!(ios(serde_json::json!({"Type": 0, "IntVal": 53})), Some(IntOrString::Int(53)));
        assert_eq!(ios(serde_json::json!({"type": 2})), None);
        assert_eq!(ios(serde_json::json!(443)), Some(IntOrString::Int(443)));
        assert_eq!(ios(serde_json::json!("8080")), Some(IntOrString::Int(8080)));
        assert_eq!(ios(serde_json::json!("web")), Some(IntOrString::Str("web".into())));
        assert_eq!(ios(Value::Null), None);
        let v = serde_json::json!({"GroupMembers": [1]});
        assert_eq!(array(&v, "groupmembers").len(), 1);
        let (docs, errs) = documents("a: 1\n---\nitems:\n- b: 2\n- b: 3\n---\nc: [\n");
        assert_eq!(docs.len(), 3);
        assert_eq!(errs.len(), 1);
    }
}
