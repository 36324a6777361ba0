//! `casement syncml check` / `casement syncml show`, run as a user would: exit codes, messages,
//! and that what `show` prints decodes to the same value.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PACKAGE1: &str = "win10-07-session1-client-msg1.xml";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn casement(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_casement"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("casement runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn run_on(subcommand: &str, input: &str) -> Output {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(input.as_bytes()).unwrap();
    casement(&["syncml", subcommand, file.path().to_str().unwrap()], None)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A server reply whose second Status has a `CmdRef` that is not a number.
const BAD_CMDREF: &str = r#"<SyncML xmlns="SYNCML:SYNCML1.2">
  <SyncHdr>
    <VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
    <Target><LocURI>DEVICE1</LocURI></Target>
    <Source><LocURI>https://mdm.example/ManagementServer/MDM.svc</LocURI></Source>
  </SyncHdr>
  <SyncBody>
    <Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef><Cmd>SyncHdr</Cmd><Data>200</Data></Status>
    <Status><CmdID>2</CmdID><MsgRef>1</MsgRef><CmdRef>two</CmdRef><Cmd>Alert</Cmd><Data>200</Data></Status>
    <Final/>
  </SyncBody>
</SyncML>
"#;

/// A wrapper holding fragments as documentation shows them, one wrapper nested in another.
const FRAGMENTS: &str = r#"<!-- two commands and two items -->
<Fragments xmlns:msft="http://schemas.microsoft.com/MobileDevice/MDM">
  <Get><CmdID>2</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>
  <Inner>
    <Item><Data><![CDATA[<x>a & b]]></Data></Item>
    <Alert><CmdID>3</CmdID><Data>1201</Data></Alert>
  </Inner>
  <Item><Meta><Format xmlns="syncml:metinf">xml</Format></Meta><Data><Foo xmlns="urn:x"><Bar> 1 </Bar></Foo></Data></Item>
</Fragments>
"#;

#[test]
fn check_accepts_the_real_windows_package_1() {
    let out = casement(
        &["syncml", "check", fixture(PACKAGE1).to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ok: SyncML 1.2 message, 3 commands (2 Alert, 1 Replace)\n"
    );
    assert_eq!(stderr(&out), "");
}

#[test]
fn check_reads_stdin_for_a_dash() {
    let input = std::fs::read(fixture(PACKAGE1)).unwrap();
    let out = casement(&["syncml", "check", "-"], Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 commands"), "{}", stdout(&out));
}

#[test]
fn check_refuses_a_doctype_with_its_offset() {
    let package1 = std::fs::read_to_string(fixture(PACKAGE1)).unwrap();
    let input =
        format!("<?xml version=\"1.0\"?>\n<!DOCTYPE SyncML [<!ENTITY e \"x\">]>\n{package1}");
    let offset = input.find("<!DOCTYPE").unwrap();
    let out = run_on("check", &input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("invalid SyncML at byte {offset} (/): DOCTYPE")),
        "{err}"
    );
    assert!(err.contains(":2:1\n"), "line 2, column 1: {err}");
}

#[test]
fn check_reports_a_bad_cmdref_with_offset_path_line_and_caret() {
    let offset = BAD_CMDREF.find("<CmdRef>two").unwrap();
    let line = 1 + BAD_CMDREF[..offset].matches('\n').count();
    let column = offset - BAD_CMDREF[..offset].rfind('\n').unwrap();
    let out = run_on("check", BAD_CMDREF);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "invalid SyncML at byte {offset} (/SyncML/SyncBody/Status[2]/CmdRef): \
             expected an integer, found \"two\""
        )),
        "{err}"
    );
    assert!(err.contains(&format!(":{line}:{column}\n")), "{err}");
    // The offending line is shown (cut around the spot), the caret under `<CmdRef>two`.
    let lines: Vec<&str> = err.lines().collect();
    let shown = lines
        .iter()
        .position(|l| l.contains("<CmdRef>two"))
        .expect("offending line shown");
    let at = |l: &str, pat: &str| l[..l.find(pat).unwrap()].chars().count();
    assert_eq!(
        at(lines[shown + 1], "^"),
        at(lines[shown], "<CmdRef>two"),
        "{err}"
    );
}

#[test]
fn check_on_a_compact_one_line_message_points_into_the_line() {
    let compact = BAD_CMDREF
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .concat();
    let offset = compact.find("<CmdRef>two").unwrap();
    let out = run_on("check", &compact);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("at byte {offset} (")), "{err}");
    assert!(err.contains(&format!(":1:{}\n", offset + 1)), "{err}");
    // The line is cut, not printed whole.
    assert!(err.lines().all(|l| l.chars().count() < 130), "{err}");
}

#[test]
fn a_missing_file_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.xml");
    for subcommand in ["check", "show"] {
        let out = casement(&["syncml", subcommand, missing.to_str().unwrap()], None);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(stdout(&out), "");
        let err = stderr(&out);
        assert!(err.contains("cannot read"), "{err}");
        assert!(err.contains("nope.xml"), "{err}");
    }
}

#[test]
fn show_prints_the_pretty_form_which_decodes_to_the_same_message() {
    let input = std::fs::read(fixture(PACKAGE1)).unwrap();
    let original = casement_syncml::parse(&input).unwrap();
    let out = casement(
        &["syncml", "show", fixture(PACKAGE1).to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert_eq!(shown, casement_syncml::to_string_pretty(&original));
    assert_eq!(casement_syncml::parse(shown.as_bytes()).unwrap(), original);
}

#[test]
fn show_refuses_invalid_input_like_check() {
    let out = run_on("show", BAD_CMDREF);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("(/SyncML/SyncBody/Status[2]/CmdRef)"));
}

#[test]
fn fragments_are_checked_and_shown_with_their_wrappers() {
    let out = run_on("check", FRAGMENTS);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ok: SyncML fragment <Fragments>, 2 commands (1 Get, 1 Alert), 2 items\n"
    );

    let out = run_on("show", FRAGMENTS);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(shown.starts_with("<Fragments xmlns:msft="), "{shown}");
    assert!(shown.contains("\n  <Inner>\n    <Item>\n"), "{shown}");
    assert_eq!(
        casement_syncml::parse_fragment(shown.as_bytes()).unwrap(),
        casement_syncml::parse_fragment(FRAGMENTS.as_bytes()).unwrap(),
        "{shown}"
    );
    // Showing the shown form changes nothing.
    assert_eq!(stdout(&run_on("show", &shown)), shown);
}

#[test]
fn a_single_command_fragment_is_shown_indented() {
    let input = "<Exec><CmdID>2</CmdID><Item><Target><LocURI>./Vendor/MSFT/Reboot/RebootNow</LocURI>\
                 </Target><Meta><Format xmlns=\"syncml:metinf\">null</Format></Meta><Data></Data></Item></Exec>";
    let out = run_on("show", input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.starts_with("<Exec>\n  <CmdID>2</CmdID>\n  <Item>\n"),
        "{shown}"
    );
    assert_eq!(
        casement_syncml::parse_fragment(shown.as_bytes()).unwrap(),
        casement_syncml::parse_fragment(input.as_bytes()).unwrap()
    );
}
