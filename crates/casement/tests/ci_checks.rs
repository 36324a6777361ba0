//! `.ci/conflict-markers`, which `.ci/run` calls before the tests, refuses a tree with an
//! unfinished merge (issue 11: README.md once reached main with conflict markers).

use std::path::Path;
use std::process::Command;

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/conflict-markers")
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

/// A repository with one tracked file holding `text`; the script's exit code and output.
fn check(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("README.md"), text).unwrap();
    git(dir.path(), &["add", "README.md"]);
    let out = Command::new("bash")
        .arg(script())
        .arg(dir.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn regression_issue_11_a_tracked_file_with_conflict_markers_fails_the_check() {
    let (ours, theirs, middle) = ("<".repeat(7), ">".repeat(7), "=".repeat(7));
    for marker in [
        format!("{ours} HEAD"),
        middle.clone(),
        format!("{theirs} scale"),
    ] {
        let (code, said) = check(&format!("# Title\n\ntext\n{marker}\nmore\n"));
        assert_eq!(code, 1, "{marker}: {said}");
        assert!(said.contains("README.md:4:"), "names file and line: {said}");
    }
    // Longer or indented runs are ordinary text (a Markdown rule, a code sample).
    let (code, said) = check(&format!("text\n{middle}=\n  {ours} quoted\n"));
    assert_eq!(code, 0, "{said}");
}

#[test]
fn this_repository_has_no_conflict_markers() {
    let out = Command::new("bash").arg(script()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
