//! A throwaway nginx in front of the nodes, running the documented site configuration
//! (`docs/nginx/casement.conf`) with its paths, port and node addresses replaced, inside a
//! minimal main configuration of its own (pid, logs and temp files in a temp directory).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The site configuration operators install (see docs/nginx.md).
pub const SITE_CONFIG: &str = include_str!("../../../docs/nginx/casement.conf");

/// Where the documented configuration's files are in a run.
#[derive(Debug, Clone)]
pub struct NginxFiles {
    /// Replaces `/etc/casement/mdm.pem` / `.key`: the public TLS identity.
    pub public_cert: PathBuf,
    /// See `public_cert`.
    pub public_key: PathBuf,
    /// Replaces `/etc/casement/ca.pem`: Casement's device CA.
    pub ca: PathBuf,
    /// Replaces `/etc/casement/tls.pem`: the nodes' TLS certificate.
    pub nodes_tls: PathBuf,
}

/// The site configuration for a run: listening on `port` on 127.0.0.1, proxying to `nodes`.
pub fn site_config(port: u16, nodes: &[SocketAddr], files: &NginxFiles) -> anyhow::Result<String> {
    let mut config = SITE_CONFIG
        .replace("/etc/casement/mdm.pem", &path(&files.public_cert)?)
        .replace("/etc/casement/mdm.key", &path(&files.public_key)?)
        .replace("/etc/casement/ca.pem", &path(&files.ca)?)
        .replace("/etc/casement/tls.pem", &path(&files.nodes_tls)?)
        .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
        .replace("server_name mdm.contoso.com;", "server_name localhost;");
    let documented = [
        "    server 10.0.0.11:8443 max_fails=3 fail_timeout=10s;\n",
        "    server 10.0.0.12:8443 max_fails=3 fail_timeout=10s;\n",
    ];
    let servers: String = nodes
        .iter()
        .map(|n| format!("    server {n} max_fails=3 fail_timeout=10s;\n"))
        .collect();
    if !documented.iter().all(|d| config.contains(d)) {
        bail!("docs/nginx/casement.conf no longer lists the two example nodes");
    }
    config = config
        .replacen(documented[0], &servers, 1)
        .replacen(documented[1], "", 1);
    Ok(config)
}

fn path(p: &Path) -> anyhow::Result<String> {
    p.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not UTF-8", p.display()))
}

/// A running nginx, stopped (gracefully, then killed) on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Option<Child>,
    dir: PathBuf,
    /// The address devices connect to.
    pub addr: SocketAddr,
}

impl Nginx {
    /// Starts nginx (`/usr/sbin/nginx` or `nginx` on the PATH) with the site configuration in
    /// `dir`, with `workers` worker processes, and waits until it accepts connections.
    pub fn start(
        dir: &Path,
        port: u16,
        nodes: &[SocketAddr],
        files: &NginxFiles,
        workers: usize,
    ) -> anyhow::Result<Nginx> {
        let binary = find_nginx().context(
            "nginx is not installed (apt-get install nginx); the load balancer cannot be started",
        )?;
        std::fs::create_dir_all(dir)?;
        let site = site_config(port, nodes, files)?;
        std::fs::write(dir.join("casement.conf"), site)?;
        // As root, nginx's workers would switch to `nobody`, who cannot read this private temp
        // directory: keep them as the current user (this instance only serves the benchmark).
        let user = if is_root() { "user root;\n" } else { "" };
        let main = format!(
            "{user}worker_processes {workers};\npid {dir}/nginx.pid;\nerror_log {dir}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {dir}/client_body;\n    proxy_temp_path {dir}/proxy;\n\
             fastcgi_temp_path {dir}/fastcgi;\n    uwsgi_temp_path {dir}/uwsgi;\n    scgi_temp_path {dir}/scgi;\n\
             include {dir}/casement.conf;\n}}\n",
            dir = path(dir)?,
            workers = workers.max(1),
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, main)?;
        let error_log = dir.join("startup.log");
        let child = Command::new(&binary)
            .arg("-e")
            .arg(&error_log)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .arg("-g")
            .arg("daemon off;")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("stderr.log"))?))
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut nginx = Nginx {
            child: Some(child),
            dir: dir.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(nginx.addr).is_err() {
            if let Some(child) = nginx.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                bail!("nginx exited ({status}): {log}");
            }
            if Instant::now() > deadline {
                bail!("nginx did not start listening on {}", nginx.addr);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    /// The master process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// Stops nginx: a graceful stop signal first (SIGTERM is nginx's fast shutdown, which also
    /// ends the workers), a kill after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The nginx binary, if installed.
pub fn find_nginx() -> Option<PathBuf> {
    let standard = PathBuf::from("/usr/sbin/nginx");
    if standard.exists() {
        return Some(standard);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("nginx"))
            .find(|p| p.exists())
    })
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_configuration_is_rendered_for_a_run() {
        let files = NginxFiles {
            public_cert: "/tmp/x/tls.pem".into(),
            public_key: "/tmp/x/tls.key".into(),
            ca: "/tmp/x/ca.pem".into(),
            nodes_tls: "/tmp/x/tls.pem".into(),
        };
        let nodes: Vec<SocketAddr> = vec![
            "127.0.0.1:9001".parse().unwrap(),
            "127.0.0.1:9002".parse().unwrap(),
            "127.0.0.1:9003".parse().unwrap(),
        ];
        let config = site_config(9443, &nodes, &files).unwrap();
        assert!(config.contains("listen 127.0.0.1:9443 ssl;"));
        assert!(config.contains("server 127.0.0.1:9003 max_fails=3"));
        assert!(!config.contains("10.0.0.1"));
        let directives: Vec<&str> = config
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(directives.iter().all(|l| !l.contains("/etc/casement")));
        assert!(config.contains("proxy_set_header X-Client-Cert $casement_client_cert;"));
        assert!(config.contains("ssl_verify_client optional;"));
    }
}
