//! The subcommands of the `casement` binary and what they share: reading an input file (or
//! stdin), and how a failure is printed and which exit code it maps to.

pub mod admin;
pub mod apply;
pub mod demo;
pub mod fleet;
pub mod serve;
pub mod sim;
pub mod syncml;
pub mod wns;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

/// The input given to a tool is invalid: exit code 1. The text is the complete report, already
/// formatted for a terminal (it may span several lines).
#[derive(Debug)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Prints a failed subcommand's error to stderr and returns its exit code: 1 for [`Invalid`]
/// input, 2 for everything else.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let mut stderr = io::stderr().lock();
    if let Some(invalid) = err.downcast_ref::<Invalid>() {
        let _ = writeln!(stderr, "{invalid}");
        ExitCode::from(1)
    } else {
        let _ = writeln!(stderr, "casement: {err:#}");
        ExitCode::from(2)
    }
}

/// Reads a whole input file; `-` means stdin. Returns the name to show in messages with it.
pub fn read_input(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .context("cannot read stdin")?;
        return Ok(("<stdin>".to_owned(), bytes));
    }
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    Ok((name, bytes))
}

/// Writes `text` to stdout. A closed pipe (`casement … | head`) is not an error.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}
