//! Third-party tools the tests use: the aiosmtpd SMTP server, libical's restriction check and
//! Python's `icalendar`. Installed by `scripts/test`; each finder says what is missing and how to get
//! it, for [`super::require`] (which skips the test, or fails it under CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The Python with `aiosmtpd` and `icalendar`: `BORGERTUN_TEST_PYTHON`, or the venv `scripts/test`
/// makes in `target/ci-venv`.
pub fn python() -> Result<PathBuf, String> {
    let candidate = std::env::var_os("BORGERTUN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target/ci-venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import aiosmtpd, icalendar"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(candidate)
    } else {
        Err(format!(
            "{} cannot import aiosmtpd and icalendar: run `python3 -m venv target/ci-venv && \
             target/ci-venv/bin/pip install icalendar==7.3.0 aiosmtpd==1.4.6` (as scripts/test does), \
             or set BORGERTUN_TEST_PYTHON to a Python that has both",
            candidate.display()
        ))
    }
}

/// libical's checker, built by `scripts/test` into `target/ical-check`.
pub fn ical_check() -> Result<PathBuf, String> {
    let path = Path::new(ROOT).join("target/ical-check");
    if path.exists() {
        Ok(path)
    } else {
        Err(
            "target/ical-check (libical's RFC 5546 check) is missing: run `apt-get install libical-dev \
             pkg-config && gcc -O2 -o target/ical-check tests/validators/ical_check.c \
             $(pkg-config --cflags --libs libical)` (as scripts/test does)"
                .to_string(),
        )
    }
}

/// Both validators, libical's and Python's.
pub struct Validators {
    python: PathBuf,
    ical_check: PathBuf,
    dir: tempfile::TempDir,
}

impl Validators {
    /// Both validators, or what is missing of them.
    pub fn find() -> Result<Self, String> {
        match (python(), ical_check()) {
            (Ok(python), Ok(ical_check)) => Ok(Self {
                python,
                ical_check,
                dir: tempfile::tempdir().unwrap(),
            }),
            (python, ical_check) => Err([python.err(), ical_check.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }

    /// The Python the validator runs (it has aiosmtpd too).
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// Run libical's RFC 5546 restriction check and Python `icalendar` on `ics`; panic with
    /// their complaints if either refuses it. Returns the Python side's reading of it.
    pub fn check(&self, name: &str, ics: &str) -> Value {
        let path = self.dir.path().join(format!("{name}.ics"));
        std::fs::write(&path, ics).unwrap();
        let out = Command::new(&self.ical_check).arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "libical refuses {name}: {}\n{ics}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(&self.python)
            .arg(Path::new(ROOT).join("tests/validators/check_ics.py"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python icalendar refuses {name}: {}\n{ics}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0].clone()
    }
}

/// An aiosmtpd server on 127.0.0.1 that stores what it receives in a Maildir.
pub struct SmtpSink {
    child: Child,
    pub dir: PathBuf,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free port on 127.0.0.1 (nothing listens on it afterwards).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    pub fn start(python: &Path, port: u16, dir: &Path) -> SmtpSink {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// The raw messages received so far, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .flat_map(|d| std::fs::read_dir(self.dir.join(d)).unwrap().filter_map(|e| e.ok()))
            .map(|e| (e.metadata().unwrap().modified().unwrap(), e.path()))
            .collect();
        files.sort();
        files.into_iter().map(|(_, p)| std::fs::read(p).unwrap()).collect()
    }

    /// Wait until at least `n` messages have arrived (at most 30 s), then a little longer to
    /// catch any extra, and return them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.messages().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} messages arrived",
                self.messages().len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.messages()
    }
}
