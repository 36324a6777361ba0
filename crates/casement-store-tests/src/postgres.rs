//! A throwaway PostgreSQL server for tests: `initdb` into a temp directory, started on a free
//! port on 127.0.0.1 (socket in the same directory), stopped and deleted on drop. Uses the
//! installed binaries (`/usr/lib/postgresql/<version>/bin`); as root it runs them as the
//! `postgres` user, since PostgreSQL refuses to run as root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running throwaway server.
#[derive(Debug)]
pub struct TempPostgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    /// Connection URL (trust authentication, database `postgres`).
    pub url: String,
    /// Port on 127.0.0.1.
    pub port: u16,
}

/// How a throwaway server writes its commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync=off`, `synchronous_commit=off`, `full_page_writes=off`: for tests, where a crash
    /// loses nothing anyone needs.
    Scratch,
    /// `fsync=on`, `full_page_writes=on` (PostgreSQL's defaults, as in production) with
    /// `synchronous_commit` on (a commit returns after its WAL is flushed) or off (returns
    /// before; a crash can lose the last ~3 × `wal_writer_delay` of commits, never corrupt).
    Durable {
        /// `synchronous_commit`.
        synchronous_commit: bool,
    },
}

impl Durability {
    /// The server options that set it.
    fn options(self) -> &'static str {
        match self {
            Durability::Scratch => "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            Durability::Durable {
                synchronous_commit: true,
            } => "-c fsync=on -c synchronous_commit=on -c full_page_writes=on",
            Durability::Durable {
                synchronous_commit: false,
            } => "-c fsync=on -c synchronous_commit=off -c full_page_writes=on",
        }
    }
}

impl TempPostgres {
    /// Starts a server for tests ([`Durability::Scratch`]), or says why it cannot (binaries
    /// missing, initdb failed, …).
    pub fn start() -> Result<Self, String> {
        Self::start_with(Durability::Scratch)
    }

    /// Starts a server writing as `durability` says.
    pub fn start_with(durability: Durability) -> Result<Self, String> {
        let bin = find_bin().ok_or("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)")?;
        let as_postgres = is_root();
        let dir =
            std::env::temp_dir().join(format!("casement-pg-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .map_err(|e| e.to_string())?;
        let port = free_port()?;
        let data = dir.join("data");
        let server = Self {
            dir: dir.clone(),
            bin,
            as_postgres,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            port,
        };
        server.run(
            "initdb",
            &[
                "-D",
                path(&data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 {} -c max_connections=200",
            dir.display(),
            durability.options()
        );
        server.run(
            "pg_ctl",
            &[
                "-D",
                path(&data),
                "-o",
                &options,
                "-l",
                path(&dir.join("log")),
                "-w",
                "-t",
                "30",
                "start",
            ],
        )?;
        Ok(server)
    }

    /// The postmaster's process id (its backends are its children), while it runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("data").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(tool);
        let output = if self.as_postgres {
            Command::new("runuser")
                .arg("-u")
                .arg("postgres")
                .arg("--")
                .arg(&program)
                .args(args)
                .current_dir(&self.dir)
                .output()
        } else {
            Command::new(&program)
                .args(args)
                .current_dir(&self.dir)
                .output()
        }
        .map_err(|e| format!("{}: {e}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            Err(format!(
                "{tool} failed: {}{}\n{log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", path(&data), "-m", "immediate", "-w", "stop"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a throwaway server, or — outside CI — returns `None` after saying why the caller's
/// test is skipped. In CI (`CI=true`) a missing server is a failure, never a skip.
pub fn start_or_skip(test: &str) -> Option<TempPostgres> {
    match TempPostgres::start() {
        Ok(pg) => Some(pg),
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: PostgreSQL is required in CI: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping {test}: {reason}");
            None
        }
    }
}

/// Whether PostgreSQL's server binaries are installed (a throwaway server can be started).
pub fn installed() -> bool {
    find_bin().is_some()
}

fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}
