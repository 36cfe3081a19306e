//! `analyze --format tree` on every sample: a snapshot of the picture, every line within 100
//! columns, no colour when stdout is not a terminal.

mod support;

use support::{hoptrace, sample};

fn samples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(sample(""))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn tree(name: &str, extra: &[&str]) -> String {
    let out = hoptrace().args(["analyze", "-q", "--format", "tree"]).args(extra).arg(sample(name)).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn check_shape(name: &str, text: &str) {
    assert!(!text.contains('\x1b'), "{name}: colour on a pipe");
    for line in text.lines() {
        assert!(line.chars().count() <= 100, "{name}: {} columns: {line}", line.chars().count());
    }
}

#[test]
fn every_sample_tree() {
    let all = samples();
    assert!(all.len() >= 9, "{all:?}");
    for name in all {
        let text = tree(&name, &[]);
        check_shape(&name, &text);
        // The terminal point is drawn, and every node of the result is a box.
        let json: serde_json::Value = serde_json::from_slice(
            &hoptrace().args(["analyze", "-q", "--format", "json"]).arg(sample(&name)).output().unwrap().stdout,
        )
        .unwrap();
        for r in json["results"].as_array().unwrap() {
            assert!(text.contains(&format!("● {}", r["node"].as_str().unwrap())), "{name}");
        }
        assert!(text.lines().any(|l| l.starts_with("■ ")), "{name}");
        insta::assert_snapshot!(format!("tree_{name}"), text);
    }
}

#[test]
fn pipeline_stages_with_detail_hops() {
    let text = tree("k8s-np-ingress-drop", &["--detail", "hops"]);
    check_shape("k8s-np-ingress-drop", &text);
    assert!(text.contains("stages: "), "{text}");
    insta::assert_snapshot!("tree_k8s-np-ingress-drop_hops", text);
}

#[test]
fn colour_is_written_only_when_asked() {
    let out =
        hoptrace().args(["analyze", "-q", "--format", "json"]).arg(sample("k8s-np-ingress-drop")).output().unwrap();
    let result: hoptrace::trace::TraceResult = serde_json::from_slice(&out.stdout).unwrap();
    let draw = |color| {
        let mut buf = Vec::new();
        hoptrace::export::tree::write_tree(&mut buf, &result, None, hoptrace::export::tree::TreeOptions { color })
            .unwrap();
        String::from_utf8(buf).unwrap()
    };
    let plain = draw(false);
    let coloured = draw(true);
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[31m"), "the drop in red: {coloured}");
    let stripped = coloured.replace("\x1b[0m", "").replace("\x1b[31m", "").replace("\x1b[32m", "");
    let stripped = stripped.replace("\x1b[1m", "").replace("\x1b[36m", "").replace("\x1b[33m", "");
    assert_eq!(stripped, plain);
}

/// One node of two: the tree ends with `path incomplete` and the finding that says what is
/// missing.
#[test]
fn an_incomplete_path() {
    let dir = sample("k8s-np-ingress-drop");
    let out = hoptrace()
        .args(["analyze", "-q", "--format", "tree", "--probe"])
        .arg(dir.join("probe.json"))
        .arg(dir.join("k8s-node1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8(out.stdout).unwrap();
    check_shape("incomplete", &text);
    assert!(text.contains("■ path incomplete"), "{text}");
    assert!(text.contains("missing-input: "), "{text}");
}
