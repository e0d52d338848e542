//! `noida-db` (PyPI, binary-only): an emulator that answers the
//! Elasticsearch 8 REST API and keeps data across restarts. Installed by
//! `scripts/setup-stores.sh`; used for round trips (write, read back,
//! delete) where the fixture server only replays shapes. It does not rank
//! like Lucene: assert on sets and contents.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct NoidaElasticsearch {
    child: Option<Child>,
    port: u16,
    data: PathBuf,
    binary: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where `setup-stores.sh` put the binary (`$SLUICE_NOIDA_DB` overrides).
pub fn noida_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLUICE_NOIDA_DB") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("SLUICE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sluice")))?;
    let p = home.join("stores-venv/bin/noida-db");
    p.exists().then_some(p)
}

impl NoidaElasticsearch {
    /// Starts the emulator on a free port. `Ok(None)` when it is not
    /// installed outside CI (CI must have it: `scripts/setup-test.sh` installs it).
    pub fn start() -> Result<Option<NoidaElasticsearch>, String> {
        let Some(binary) = noida_binary() else {
            if std::env::var_os("CI").is_some() {
                return Err("noida-db is not installed; scripts/setup-test.sh (setup-stores.sh) installs it".into());
            }
            eprintln!("skipping: noida-db not installed (run scripts/setup-stores.sh)");
            return Ok(None);
        };
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut s = NoidaElasticsearch {
            child: None,
            port,
            data: dir.path().join("data"),
            binary,
            _dir: dir,
        };
        s.spawn()?;
        Ok(Some(s))
    }

    fn spawn(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.data).map_err(|e| e.to_string())?;
        let child = Command::new(&self.binary)
            .args([
                "start",
                "--host",
                "127.0.0.1",
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                &self.port.to_string(),
                "--data-dir",
            ])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: the PyPI entry point runs the server as a
            // child, and both must go when the test stops it.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "noida-db did not listen on 127.0.0.1:{} within 30 s",
            self.port
        ))
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Ctrl-C (it saves its data), then SIGKILL if it lingers.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let group = format!("-{}", c.id());
            let _ = Command::new("kill")
                .args(["-s", "INT", "--", &group])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline
                && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &group])
                .status();
            let _ = c.wait();
        }
    }

    /// Stops and starts it again on the same port and data.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }
}

impl Drop for NoidaElasticsearch {
    fn drop(&mut self) {
        self.stop();
    }
}
