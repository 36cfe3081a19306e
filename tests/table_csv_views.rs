//! The table and CSV on real samples: a heading naming the probe, times with their date and an
//! explicit zone (UTC, or the local zone with `--local`), the hop count across nodes; CSV columns
//! only appended to (TTL, hop, phase, record kind), and `--csv-findings` rows.

mod support;

use support::{hoptrace, sample, CSV_COLUMNS_V1};

fn run(args: &[&str], tz: Option<&str>) -> String {
    let mut cmd = hoptrace();
    cmd.args(["analyze", "-q"]).args(args);
    if let Some(tz) = tz {
        cmd.env("TZ", tz);
    }
    let out = cmd.output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1 | 3)), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_table_names_the_probe_dates_its_times_and_counts_hops() {
    let dir = sample("k8s-np-ingress-drop");
    let probe: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("probe.json")).unwrap()).unwrap();
    let text = run(&["--format", "table", dir.to_str().unwrap()], None);
    let first = text.lines().next().unwrap();
    let sport = probe["transport"]["srcPort"].as_u64().unwrap();
    assert_eq!(
        first,
        format!("probe: TCP 10.10.1.5:{sport} → 10.10.2.5:9999 (default/client → default/server), tag 7")
    );
    assert!(text.lines().nth(1).unwrap().contains("1 hop across nodes; times UTC"), "{text}");
    let rows: Vec<&str> =
        text.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" k8s-node")).collect();
    // Hop 0 on the sender, 1 on the receiver; times with date and Z.
    assert!(rows.iter().filter(|r| r.contains("k8s-node1")).all(|r| r.split_whitespace().nth(1) == Some("0")));
    assert!(rows.iter().filter(|r| r.contains("k8s-node2 ")).all(|r| r.split_whitespace().nth(1) == Some("1")));
    assert!(rows[0].contains("2026-11-26 20:48:51.303461000Z"), "{}", rows[0]);
    // --local: the same instant in the zone TZ names, with its offset (a POSIX TZ, no tzdata).
    let local = run(&["--format", "table", "--local", dir.to_str().unwrap()], Some("XYZ-5:30"));
    assert!(local.contains("2026-11-27 02:18:51.303461000+05:30"), "{local}");
    assert!(local.contains("times local"), "{local}");
    let west = run(&["--format", "table", "--local", dir.to_str().unwrap()], Some("ABC+3"));
    assert!(west.contains("2026-11-26 17:48:51.303461000-03:00"), "{west}");
}

#[test]
fn csv_carries_ttl_hop_phase_and_findings() {
    let dir = sample("k8s-np-ingress-drop");
    let text = run(&["--format", "csv", dir.to_str().unwrap()], None);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    // Only appended to: the first columns are the ones scripts already read.
    assert_eq!(&headers[..CSV_COLUMNS_V1.len()], CSV_COLUMNS_V1);
    assert_eq!(&headers[CSV_COLUMNS_V1.len()..], ["ttl", "hop", "phase", "record", "finding"]);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(&rows[0][col("ttl")], "64");
    assert_eq!(&rows[2][col("ttl")], "63");
    assert_eq!(&rows[3][col("hop")], "1");
    assert!(rows.iter().all(|r| &r[col("phase")] == "Succeeded" && &r[col("record")] == "observation"));
    // One node only: the finding says the receiver is missing; --csv-findings carries it.
    let probe = dir.join("probe.json");
    let node1 = dir.join("k8s-node1");
    let args = ["--format", "csv", "--probe", probe.to_str().unwrap(), node1.to_str().unwrap()];
    let plain = run(&args, None);
    assert!(!plain.contains(",finding,"));
    let with = run(&[&args[..], &["--csv-findings"]].concat(), None);
    let mut r = csv::Reader::from_reader(with.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let findings: Vec<&csv::StringRecord> = rows.iter().filter(|r| &r[col("record")] == "finding").collect();
    assert!(!findings.is_empty(), "{with}");
    assert!(findings.iter().any(|f| f[col("finding")].starts_with("missing-input: ")), "{with}");
    assert!(findings.iter().all(|f| &f[col("phase")] == "Failed" && f[col("action")].is_empty()));
}
