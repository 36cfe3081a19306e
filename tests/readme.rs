//! The README shows what the commands print today. Every ```console block of README.md holds
//! commands (`$ ` lines, `\` continuing them) each followed by its output; each command is a
//! hoptrace command on the bundled samples (`hoptrace ARGS`, or the set-up's
//! `cargo run --release -- ARGS`), run here with the binary under test in a scratch directory
//! where `samples/` is the repository's, and its standard output must be the shown output.
//! Blocks marked `sh` or `text` are not run. And the README's list of system tests names
//! every test file that declares a requirement with `require!`.

mod support;

use std::process::Command;

/// One command shown in a console block, with the output shown under it.
struct Shown {
    line: usize,
    command: String,
    output: String,
}

/// The commands and outputs of every ```console block.
fn console_blocks(readme: &str) -> Vec<Shown> {
    let mut shown: Vec<Shown> = Vec::new();
    let mut in_console = false;
    let mut continued = false;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            in_console = !in_console && line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            shown.push(Shown { line: i + 1, command: String::new(), output: String::new() });
            continued = true;
            push_command_line(shown.last_mut().unwrap(), cmd, &mut continued);
        } else if continued {
            push_command_line(shown.last_mut().expect("a command"), line, &mut continued);
        } else {
            let s = shown.last_mut().unwrap_or_else(|| panic!("README.md:{}: output before any `$ ` command", i + 1));
            s.output.push_str(line);
            s.output.push('\n');
        }
    }
    shown
}

fn push_command_line(s: &mut Shown, line: &str, continued: &mut bool) {
    match line.trim_end().strip_suffix('\\') {
        Some(part) => s.command.push_str(part.trim()),
        None => {
            s.command.push_str(line.trim());
            *continued = false;
        }
    }
    s.command.push(' ');
}

/// The command as the binary under test runs it.
fn as_hoptrace(command: &str) -> Option<String> {
    let command = command.trim();
    command
        .strip_prefix("cargo run --release -- ")
        .or_else(|| command.strip_prefix("hoptrace "))
        .map(|args| format!("{} {args}", support::BIN))
}

#[test]
fn console_blocks_show_what_the_commands_print() {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let shown = console_blocks(&readme);
    assert!(shown.len() >= 2, "README.md has {} console commands", shown.len());
    for s in &shown {
        let run = as_hoptrace(&s.command)
            .unwrap_or_else(|| panic!("README.md:{}: not a hoptrace command: {}", s.line, s.command));
        // Relative paths as in a clone; files a command writes land in the scratch directory.
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(support::sample(""), dir.path().join("samples")).unwrap();
        let out = Command::new("sh").arg("-c").arg(&run).current_dir(dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "README.md:{}: {} exited {}: {}",
            s.line,
            s.command,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8(out.stdout).unwrap();
        let tidy = |t: &str| t.lines().map(str::trim_end).collect::<Vec<_>>().join("\n").trim_end().to_string();
        assert_eq!(
            tidy(&s.output),
            tidy(&printed),
            "README.md:{}: the output shown for `{}` is not what it prints today (left: README, right: now)",
            s.line,
            s.command.trim()
        );
    }
}

#[test]
fn every_test_file_with_requirements_is_listed() {
    let readme = std::fs::read_to_string(support::root().join("README.md")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(support::root().join("tests"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs") && p.file_stem().is_some_and(|s| s != "readme"))
        .filter(|p| std::fs::read_to_string(p).unwrap().contains("require!("))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    let missing: Vec<&String> = files.iter().filter(|f| !readme.contains(&format!("`{f}`"))).collect();
    assert!(missing.is_empty(), "README.md does not list these system test files: {missing:?}");
}
