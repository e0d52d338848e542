//! A local Kafka-protocol broker for tests: tansu (built once by
//! `scripts/setup-kafka.sh`) on 127.0.0.1 with SQLite storage in a
//! directory, so data and committed offsets survive a restart.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};

pub const TANSU_VERSION: &str = "0.6.0";

pub struct LocalBroker {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl LocalBroker {
    /// `$SLUICE_TANSU`, else the binary `scripts/setup-kafka.sh` installs.
    pub fn binary() -> Result<PathBuf, String> {
        if let Some(p) = std::env::var_os("SLUICE_TANSU") {
            return Ok(PathBuf::from(p));
        }
        let home = std::env::var_os("SLUICE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sluice")))
            .ok_or("neither SLUICE_HOME nor HOME is set")?;
        let bin = home.join(format!("tools/tansu-{TANSU_VERSION}/bin/tansu"));
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "{} is missing: run `bash scripts/setup-kafka.sh` (or scripts/setup.sh)",
                bin.display()
            ))
        }
    }

    /// Starts a broker storing its data in `dir` and waits until it answers.
    pub fn start(dir: &Path) -> Result<LocalBroker, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut b = LocalBroker {
            bin: LocalBroker::binary()?,
            dir: dir.to_path_buf(),
            port,
            child: None,
        };
        b.spawn()?;
        Ok(b)
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tansu.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(&self.bin)
            // tansu resolves the sqlite path against its working directory.
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://tansu.db",
            ])
            .current_dir(&self.dir)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::from(log.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60))
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(format!(
                        "tansu exited ({status}); see {}",
                        self.dir.join("tansu.log").display()
                    ));
                }
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "tansu did not listen on {} within {timeout:?}",
                    self.bootstrap()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Listening is not answering: ask for metadata.
        let probe: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .map_err(|e| e.to_string())?;
        while let Err(e) = probe.fetch_metadata(None, Duration::from_secs(2)) {
            if started.elapsed() > timeout {
                return Err(format!(
                    "tansu on {} does not answer metadata requests: {e}",
                    self.bootstrap()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Kills the broker (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        self.spawn()
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.kill();
    }
}
