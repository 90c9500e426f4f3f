//! A real `borgertun serve` process: the shipped configuration, settings from the
//! environment (`BORGERTUN_…`), its log to a file if asked. Stopped when dropped; can be
//! killed with SIGKILL, sent SIGTERM and started again on the same port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::tools::free_port;

/// How to start one: the database, extra environment, where its log goes.
#[derive(Clone)]
pub struct Serve {
    pub db_url: String,
    pub port: u16,
    env: Vec<(String, String)>,
    log: Option<PathBuf>,
}

impl Serve {
    /// On the database at `db_url`, a free port, warnings only, mail as files in the temp folder.
    pub fn new(db_url: &str) -> Serve {
        Serve {
            db_url: db_url.to_string(),
            port: free_port(),
            env: vec![
                ("BORGERTUN_LOG".into(), "warn".into()),
                (
                    "BORGERTUN_MAIL__FILE_DIR".into(),
                    std::env::temp_dir().join("borgertun-test-mail").display().to_string(),
                ),
            ],
            log: None,
        }
    }

    /// One more (or a replaced) environment setting.
    pub fn env(mut self, key: &str, value: impl ToString) -> Serve {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Its stderr (the log) appended to `file`, kept across restarts.
    pub fn log_to(mut self, file: &Path) -> Serve {
        self.log = Some(file.to_path_buf());
        self
    }

    /// Start it and wait (at most 20 s) until `/healthz` answers.
    pub async fn start(self) -> ServeProcess {
        let child = self.spawn();
        let process = ServeProcess {
            child: Some(child),
            base: format!("http://127.0.0.1:{}", self.port),
            how: self,
        };
        process.wait_up().await;
        process
    }

    fn spawn(&self) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_borgertun"));
        cmd.args(["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config"), "serve"])
            .env("BORGERTUN_DATABASE_URL", &self.db_url)
            .env("BORGERTUN_BIND", format!("127.0.0.1:{}", self.port))
            .stdout(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        match &self.log {
            Some(file) => {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(file)
                    .expect("open the server's log file");
                cmd.stderr(f);
            }
            None => {
                cmd.stderr(Stdio::inherit());
            }
        }
        cmd.spawn().expect("start borgertun serve")
    }
}

/// A running `borgertun serve`.
pub struct ServeProcess {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    how: Serve,
}

impl ServeProcess {
    pub fn port(&self) -> u16 {
        self.how.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    async fn wait_up(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "borgertun serve on port {} did not start",
                self.how.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no cleanup, whatever it was doing cut off.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for the exit (at most `within`); the exit status.
    pub async fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        self.sigterm();
        self.wait_exit(within).await
    }

    /// Send SIGTERM and return at once.
    pub fn sigterm(&self) {
        let child = self.child.as_ref().expect("a running process");
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(ok.success());
    }

    /// Wait for the process to exit (at most `within`, else it is killed and the test fails).
    pub async fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("a running process");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait for the server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("borgertun serve did not exit within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Start it again, the same way and on the same port (after [`Self::kill9`] or
    /// [`Self::terminate`]).
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it before starting it again");
        self.child = Some(self.how.spawn());
        self.wait_up().await;
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
