//! `--help` of every command on an 80-column terminal: no line is wider, and no example command
//! is wrapped mid-command (every line of the Examples block is a comment, a `hoptrace` command,
//! or the continuation of a line that ends with `\`).

mod support;

use support::hoptrace;

const COMMANDS: [&[&str]; 8] =
    [&[], &["craft"], &["inject"], &["extract"], &["flows"], &["trace"], &["analyze"], &["diff"]];

fn help(args: &[&str]) -> String {
    let out = hoptrace().args(args).arg("--help").env("COLUMNS", "80").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of the Examples block that are neither a comment, a command, nor a continuation.
fn broken_example_lines(text: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut inside = false;
    let mut continued = false;
    for line in text.lines() {
        if line == "Examples:" {
            inside = true;
            continue;
        }
        if !inside {
            continue;
        }
        if !line.starts_with("  ") {
            break;
        }
        let t = line.trim();
        let ok = continued || t.starts_with("# ") || t.starts_with("hoptrace ");
        if !ok {
            bad.push(line.to_string());
        }
        continued = !t.starts_with('#') && t.ends_with('\\');
    }
    bad
}

#[test]
fn help_fits_80_columns_and_examples_are_whole_commands() {
    for args in COMMANDS {
        let text = help(args);
        assert!(text.contains("Examples:"), "{args:?}");
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{args:?}: {} columns: {line}", line.chars().count());
        }
        let bad = broken_example_lines(&text);
        assert!(bad.is_empty(), "{args:?}: wrapped mid-command: {bad:#?}");
    }
}

#[test]
fn the_check_catches_a_wrapped_command() {
    let wrapped = "Examples:\n  # one\n  hoptrace craft -S default/client -D default/web -f\n  tcp,tcp_dst=80\n\nmore";
    assert_eq!(broken_example_lines(wrapped), vec!["  tcp,tcp_dst=80".to_string()]);
    let whole = "Examples:\n  hoptrace craft -S a \\\n      -f tcp\n";
    assert!(broken_example_lines(whole).is_empty());
}
