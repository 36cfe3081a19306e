//! The three views of a result (table, CSV, JSON) on an inter-node Service path with capture
//! times and a skewed receiver clock; snapshots keep the formats stable.

use hoptrace::antrea::observation::{Action, Component, Evidence, NodeResult, Observation, Phase, Role};
use hoptrace::export::result::{write_csv, write_json, write_table, CSV_COLUMNS};
use hoptrace::trace::clock::{estimate, Crossing};
use hoptrace::trace::TraceResult;

fn timed(mut o: Observation, raw: i64, iface: &str, file: &str, packet: u64) -> Observation {
    o.raw_time_ns = Some(raw);
    o.interface = Some(iface.into());
    o.evidence.push(Evidence {
        kind: hoptrace::trace::EvidenceKind::Capture,
        file: Some(file.into()),
        packet: Some(packet),
        interface: Some(iface.into()),
        time_ns: Some(raw),
        ..Default::default()
    });
    o
}

fn counted(mut o: Observation, line: u64) -> Observation {
    o.evidence.push(Evidence {
        kind: hoptrace::trace::EvidenceKind::Counter,
        file: Some("k8s-node-1/flows".into()),
        line: Some(line),
        ..Default::default()
    });
    o
}

fn sample() -> TraceResult {
    let t0 = 1_764_182_000_000_000_000i64;
    let skew = 5_000_000_000; // node2's clock runs 5 s ahead
    let mut sg = Observation::new(Component::SpoofGuard, Action::Forwarded);
    sg.src_pod_ip = Some("10.10.0.5".into());
    let mut lb = Observation::new(Component::LB, Action::Forwarded);
    lb.translated_dst_ip = Some("10.10.1.7".into());
    lb.pod = Some("default/web-7d4b9c-x2k8p".into());
    let mut er = Observation::new(Component::NetworkPolicy, Action::Forwarded).with_info("EgressRule");
    er.network_policy = Some("K8sNetworkPolicy:default/allow-all-egress".into());
    let mut out1 = Observation::new(Component::Forwarding, Action::Forwarded).with_info("Output");
    out1.tunnel_dst_ip = Some("192.168.77.102".into());
    let rx = Observation::new(Component::Forwarding, Action::Received);
    let out2 = Observation::new(Component::Forwarding, Action::Delivered).with_info("Output");
    let crossings = [Crossing {
        from: "k8s-node-1".into(),
        to: "k8s-node-2".into(),
        sent_ns: t0 + 210_000,
        received_ns: t0 + 520_000 + skew,
    }];
    let nodes = vec!["k8s-node-1".to_string(), "k8s-node-2".to_string()];
    let clocks = estimate("k8s-node-1", &nodes, &crossings, 100_000);
    let mut result = TraceResult {
        schema: hoptrace::trace::result::RESULT_SCHEMA.into(),
        phase: Phase::Succeeded,
        reason: None,
        dataplane_tag: 7,
        source: Some("default/client".into()),
        destination: Some("default/web".into()),
        results: vec![
            NodeResult {
                node: "k8s-node-1".into(),
                role: Some(Role::Sender),
                timestamp: Some(t0 / 1_000_000_000),
                observations: vec![
                    timed(sg, t0, "client-3f2a1b", "k8s-node-1.pcapng", 1),
                    counted(lb, 12),
                    counted(er, 31),
                    timed(out1, t0 + 210_000, "eth0", "k8s-node-1.pcapng", 2),
                ],
                hops: vec![],
            },
            NodeResult {
                node: "k8s-node-2".into(),
                role: Some(Role::Receiver),
                timestamp: Some((t0 + skew) / 1_000_000_000),
                observations: vec![
                    timed(rx, t0 + 520_000 + skew, "eth0", "k8s-node-2.pcapng", 1),
                    timed(out2, t0 + 790_000 + skew, "web-7d4-9c1e2f", "k8s-node-2.pcapng", 2),
                ],
                hops: vec![],
            },
        ],
        clocks,
        findings: vec![],
    };
    for r in &mut result.results {
        let off = result.clocks.iter().find(|c| c.node == r.node).unwrap().offset_ns;
        for o in &mut r.observations {
            o.time = o.raw_time_ns.map(|t| hoptrace::time::rfc3339_nanos(t + off));
        }
    }
    result
}

fn render(f: fn(&mut dyn std::io::Write, &TraceResult) -> std::io::Result<()>) -> String {
    let mut buf = Vec::new();
    f(&mut buf, &sample()).unwrap();
    String::from_utf8(buf).unwrap()
}

#[test]
fn table_view() {
    insta::assert_snapshot!(render(write_table));
}

#[test]
fn csv_view() {
    let text = render(write_csv);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(r.headers().unwrap().iter().collect::<Vec<_>>(), CSV_COLUMNS);
    assert_eq!(r.records().count(), 6);
    insta::assert_snapshot!(text);
}

#[test]
fn json_view_keeps_antrea_names() {
    let text = render(write_json);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["phase"], "Succeeded");
    assert_eq!(v["dataplaneTag"], 7);
    let obs = &v["results"][0]["observations"];
    assert_eq!(obs[0]["component"], "SpoofGuard");
    assert_eq!(obs[0]["srcPodIP"], "10.10.0.5");
    assert_eq!(obs[1]["translatedDstIP"], "10.10.1.7");
    assert_eq!(obs[3]["componentInfo"], "Output");
    assert_eq!(obs[3]["tunnelDstIP"], "192.168.77.102");
    assert!(obs[1].get("time").is_none(), "no time without a sighting");
    // Skew corrected: the receiver's first observation comes after the sender's output.
    let r = sample();
    let t = |n: usize, i: usize| {
        let node = &r.results[n];
        node.observations[i].raw_time_ns.unwrap() + r.clocks.iter().find(|c| c.node == node.node).unwrap().offset_ns
    };
    assert!(t(1, 0) > t(0, 3));
    let back: TraceResult = serde_json::from_str(&text).unwrap();
    assert_eq!(back, r);
}

/// A small JSON Schema checker for the subset docs/result.schema.json uses (type, enum, const,
/// properties, required, additionalProperties: false, items, $ref), so the schema cannot drift
/// from what `--format json` writes.
fn check(schema_root: &serde_json::Value, schema: &serde_json::Value, v: &serde_json::Value, path: &str) {
    use serde_json::Value as J;
    if let Some(r) = schema.get("$ref").and_then(J::as_str) {
        let name = r.strip_prefix("#/$defs/").unwrap();
        return check(schema_root, &schema_root["$defs"][name], v, path);
    }
    if let Some(t) = schema.get("type").and_then(J::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            _ => true,
        };
        assert!(ok, "{path}: expected {t}, got {v}");
    }
    if let Some(e) = schema.get("enum").and_then(J::as_array) {
        assert!(e.contains(v), "{path}: {v} not in {e:?}");
    }
    if let Some(c) = schema.get("const") {
        assert_eq!(c, v, "{path}");
    }
    if let (Some(props), Some(obj)) = (schema.get("properties").and_then(J::as_object), v.as_object()) {
        for req in schema.get("required").and_then(J::as_array).into_iter().flatten() {
            assert!(obj.contains_key(req.as_str().unwrap()), "{path}: missing {req}");
        }
        for (k, val) in obj {
            let sub = props.get(k).unwrap_or_else(|| panic!("{path}: {k} is not in the schema"));
            check(schema_root, sub, val, &format!("{path}.{k}"));
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(schema_root, items, x, &format!("{path}[{i}]"));
        }
    }
}

#[test]
fn json_matches_the_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/result.schema.json")).unwrap(),
    )
    .unwrap();
    let mut r = sample();
    r.findings.push(hoptrace::trace::Finding {
        kind: hoptrace::trace::FindingKind::MissingInput,
        node: Some("k8s-node-3".into()),
        message: "no input".into(),
    });
    r.reason = Some("x".into());
    let v = serde_json::to_value(&r).unwrap();
    check(&schema, &schema, &v, "$");
    // And the checker does catch drift.
    let mut bad = v.clone();
    bad["results"][0]["observations"][0]["componentInfo2"] = "x".into();
    assert!(std::panic::catch_unwind(|| check(&schema, &schema, &bad, "$")).is_err());
}
