//! The README's first command, run on the bundled sample, reproduces the committed expected
//! outputs byte for byte (the probe is seeded).

mod support;

use support::{hoptrace, sample};

#[test]
fn readme_craft_sample_reproduces_expected_output() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = sample("cluster/kubectl.json");
    let out = hoptrace()
        .current_dir(dir.path())
        .args(["craft", "-S", "default/client", "-D", "default/web", "--cluster"])
        .arg(&cluster)
        .args(["--src-mac", "02:00:0a:0a:00:05", "--dst-mac", "02:00:0a:0a:00:01", "--seed", "1"])
        .args(["--node", "k8s-node-1", "-o", "expected-probe.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected_text = std::fs::read_to_string(sample("cluster/expected-craft.txt")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected_text);
    let got = std::fs::read_to_string(dir.path().join("expected-probe.json")).unwrap();
    let want = std::fs::read_to_string(sample("cluster/expected-probe.json")).unwrap();
    let strip_version = |s: &str| s.lines().filter(|l| !l.contains("\"createdBy\"")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip_version(&got), strip_version(&want));
}
