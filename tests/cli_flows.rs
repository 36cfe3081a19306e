//! `hoptrace flows`: table and port filters, counter deltas, JSON, errors naming file and line.

mod support;

use support::hoptrace;

fn pipeline() -> std::path::PathBuf {
    support::corpus::flows("antrea-ovs-pipeline-v1.15-all-tables.flows")
}

#[test]
fn table_by_name_and_by_inferred_number() {
    let by_name = hoptrace().arg("flows").arg(pipeline()).args(["--table", "L3Forwarding", "-q"]).output().unwrap();
    assert!(by_name.status.success());
    let text = String::from_utf8(by_name.stdout).unwrap();
    assert_eq!(text.lines().count(), 11);
    assert!(text.lines().all(|l| l.starts_with("table=L3Forwarding, ")));
    let by_id = hoptrace().arg("flows").arg(pipeline()).args(["--table", "17", "-q"]).output().unwrap();
    assert_eq!(String::from_utf8(by_id.stdout).unwrap(), text);
}

#[test]
fn port_filter_uses_names_and_ofports() {
    let out = hoptrace().arg("flows").arg(pipeline()).args(["--port", "web-7975-274540", "-q"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // in_port matches, the L2ForwardingCalc flow that selects it, and reg1=0x25 rule flows.
    assert!(text.contains("in_port=\"web-7975-274540\""));
    assert!(text.contains("set_field:0x25->reg1"));
    assert!(text.contains("table=IngressDefaultRule, priority=200,reg1=0x25 actions=drop"));
    assert!(!text.contains("client-6-3353ef"));
}

#[test]
fn hit_shows_flows_whose_counters_moved() {
    let tmp = tempfile::tempdir().unwrap();
    let before = "cookie=0x1010000000000, duration=10.000s, table=0, n_packets=5, n_bytes=500, idle_age=1, priority=200,ip actions=goto_table:1\n\
                  cookie=0x1010000000000, duration=10.000s, table=0, n_packets=0, n_bytes=0, idle_age=1, priority=0 actions=drop\n\
                  cookie=0x1010000000000, duration=10.000s, table=1, n_packets=9, n_bytes=900, idle_age=1, priority=0 actions=NORMAL\n";
    let after = "cookie=0x2010000000000, duration=12.000s, table=0, n_packets=6, n_bytes=574, idle_age=0, priority=200,ip actions=goto_table:1\n\
                 cookie=0x2010000000000, duration=12.000s, table=0, n_packets=0, n_bytes=0, idle_age=1, priority=0 actions=drop\n\
                 cookie=0x2010000000000, duration=12.000s, table=1, n_packets=10, n_bytes=974, idle_age=0, priority=0 actions=NORMAL\n";
    std::fs::write(tmp.path().join("before"), before).unwrap();
    std::fs::write(tmp.path().join("after"), after).unwrap();
    let out = hoptrace()
        .arg("flows")
        .arg(tmp.path().join("before"))
        .arg(tmp.path().join("after"))
        .args(["--hit", "-q"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("+1 packets +74 bytes  cookie=0x2010000000000"));
    let json = hoptrace()
        .arg("flows")
        .arg(tmp.path().join("before"))
        .arg(tmp.path().join("after"))
        .args(["--hit", "--format", "json", "-q"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v[1]["delta"]["packets"], 1);
    assert_eq!(v[1]["flow"]["table"], 1);
    assert_eq!(v[1]["flow"]["actions"][0]["type"], "output");
}

#[test]
fn a_bad_line_is_a_warning_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bad.txt");
    std::fs::write(
        &p,
        "user@node:~$ ovs-ofctl dump-flows br-int\n\
         table=0, priority=0 actions=drop\n\
         table=0, priority=1,ct_state=+bogus actions=drop\n\
         table=0, priority=2,ip,w_dst=10.0.0.1 actions=drop\n",
    )
    .unwrap();
    let out = hoptrace().arg("flows").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.txt:1: not a flow: expected `key=value,...` match fields and `actions=`"), "{err}");
    assert!(err.contains("bad.txt:3: "), "{err}");
    assert!(err.contains("bad.txt:4: unknown match field `w_dst=10.0.0.1`"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["table=0, priority=0 actions=drop", "table=0, priority=2,ip,w_dst=10.0.0.1 actions=drop"]
    );
}

#[test]
fn a_file_without_flows_names_file_and_line_and_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("notes.txt");
    std::fs::write(
        &p,
        "# my notes\nuser@node:~$ ovs-ofctl dump-flows br-int\ntable=0, priority=1,ct_state=+bogus actions=drop\n",
    )
    .unwrap();
    let out = hoptrace().arg("flows").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("notes.txt:2: not a flow"), "{err}");
    let out = hoptrace().arg("flows").arg(&p).arg(&p).arg("--hit").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn antctl_output_with_its_header() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("antctl.txt");
    std::fs::write(&p, "FLOW\ntable=0, n_packets=3, n_bytes=180, priority=0 actions=drop\n").unwrap();
    let out = hoptrace().arg("flows").arg(&p).arg("-q").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "table=0, n_packets=3, n_bytes=180, priority=0 actions=drop\n");
}

#[test]
fn port_filter_finds_the_load_form_of_older_dumps() {
    // Before OpenFlow 1.5, Antrea's dumps write the output port register with `load:`.
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("of13.txt");
    std::fs::write(
        &p,
        "table=70, priority=200,dl_dst=aa:bb:cc:dd:ee:05 actions=load:0x5->NXM_NX_REG1[],load:0x1->NXM_NX_REG0[16],goto_table:80\n\
         table=70, priority=200,dl_dst=aa:bb:cc:dd:ee:06 actions=load:0x6->NXM_NX_REG1[],load:0x1->NXM_NX_REG0[16],goto_table:80\n\
         table=70, priority=200,dl_dst=aa:bb:cc:dd:ee:07 actions=set_field:0x5->reg1,goto_table:80\n",
    )
    .unwrap();
    let out = hoptrace().arg("flows").arg(&p).args(["--port", "5", "-q"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("load:0x5->NXM_NX_REG1[]") && text.contains("set_field:0x5->reg1"), "{text}");
}

#[test]
fn a_support_bundle_root_names_its_node_bundles() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("agent_k8s-node-1.tar.gz"), b"").unwrap();
    let out = hoptrace().arg("flows").arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("agent_k8s-node-1.tar.gz"), "{err}");
    // A node directory works.
    let node = tmp.path().join("n1");
    std::fs::create_dir(&node).unwrap();
    std::fs::write(node.join("flows"), "table=0, n_packets=1, n_bytes=60, priority=0 actions=drop\n").unwrap();
    std::fs::write(node.join("ovsports"), " 1(antrea-tun0): addr:be:8b:5a:aa:10:11\n").unwrap();
    let out = hoptrace().arg("flows").arg(&node).args(["-q", "--format", "json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["flow"]["n_packets"], 1);
}

#[test]
fn json_values_use_the_field_syntax() {
    let out = hoptrace()
        .arg("flows")
        .arg(pipeline())
        .args(["--table", "L3Forwarding", "--format", "json", "-q"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tunnel = v.as_array().unwrap().iter().find(|r| r["text"].as_str().unwrap().contains("tun_dst")).unwrap();
    let acts = tunnel["flow"]["actions"].as_array().unwrap();
    assert!(acts.iter().any(|a| a["type"] == "set_field" && a["field"] == "tun_dst" && a["value"] == "192.168.77.103"));
    let fields = tunnel["flow"]["match"]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|m| m["field"] == "nw_dst" && m["value"] == "10.10.1.0/24"));
}

#[test]
fn hit_says_what_skipped_lines_leave_unknown() {
    // The earlier dump lost its table=1 flow to a damaged line; the later one a pasted prompt.
    let tmp = tempfile::tempdir().unwrap();
    let before = "cookie=0x1, duration=10.000s, table=0, n_packets=5, n_bytes=500, idle_age=1, priority=200,ip actions=goto_table:1\n\
                  cookie=0x1, duration=10.000s, table=1, n_packets=9, n_bytes=900, idle_age=1, priority=0,reg0=zz actions=NORMAL\n";
    let after = "user@node:~$ ovs-ofctl dump-flows br-int\n\
                 cookie=0x1, duration=12.000s, table=0, n_packets=6, n_bytes=574, idle_age=0, priority=200,ip actions=goto_table:1\n\
                 cookie=0x1, duration=12.000s, table=1, n_packets=10, n_bytes=974, idle_age=0, priority=0 actions=NORMAL\n";
    std::fs::write(tmp.path().join("before"), before).unwrap();
    std::fs::write(tmp.path().join("after"), after).unwrap();
    let run = |format: &str| {
        hoptrace()
            .arg("flows")
            .arg(tmp.path().join("before"))
            .arg(tmp.path().join("after"))
            .args(["--hit", "-q", "--format", format])
            .output()
            .unwrap()
    };
    let out = run("text");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("+1 packets +74 bytes  cookie=0x1"), "{text}");
    // Its whole counter, not a delta: marked unknown, never shown as ten packets of the probe's.
    assert!(lines[1].starts_with("+10? packets +974? bytes  cookie=0x1"), "{text}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "before: 1 line(s) skipped, so the counters of the flows on them are unknown: 1 flow(s) shown with `?`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("after: 1 line(s) skipped: whether the flows on them were hit is unknown"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&run("json").stdout).unwrap();
    assert_eq!(v[1]["delta_unknown"], true, "{v}");
    assert!(v[0].get("delta_unknown").is_none(), "{v}");
}

#[test]
fn coloured_and_html_pasted_dumps_read_as_printed() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = "cookie=0x1, table=0, priority=200,ip,nw_dst=10.0.0.1 actions=load:0x1->NXM_NX_REG1[],goto_table:1\n\
                 table=1, priority=0 actions=drop\n";
    // `ovs-ofctl --color`: keywords wrapped in SGR sequences.
    let ansi = plain
        .replace("cookie=", "\u{1b}[35mcookie=\u{1b}[m")
        .replace("table=", "\u{1b}[35mtable=\u{1b}[m")
        .replace("actions=", "\u{1b}[1;34mactions=\u{1b}[m");
    // Copied from a web page: bold items, a line break tag, `->` as `-&gt;`.
    let html = plain
        .replace("nw_dst=10.0.0.1", "<b>nw_dst=10.0.0.1</b>")
        .replace("->", "-&gt;")
        .replace("drop\n", "drop<br>\n");
    let flows = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = hoptrace().arg("flows").arg(&p).args(["--no-stats", "-q"]).output().unwrap();
        assert!(out.status.success(), "{name}");
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (expected, quiet) = flows("plain", plain);
    assert!(quiet.is_empty(), "{quiet}");
    let (text, stderr) = flows("ansi", &ansi);
    assert_eq!(text, expected);
    assert!(stderr.contains("ansi: 2 line(s) held ANSI colour codes (`ovs-ofctl --color`"), "{stderr}");
    let (text, stderr) = flows("html", &html);
    assert_eq!(text, expected);
    assert!(stderr.contains("html: 2 line(s) held HTML markup"), "{stderr}");
    assert!(!stderr.contains("unknown match field"), "markup is no match item: {stderr}");
}
