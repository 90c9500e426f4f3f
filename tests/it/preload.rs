//! The binary under a preloaded library, as operators run it to reproduce a problem: Debian's
//! `faketime` (libfaketime through `LD_PRELOAD`, the way heaptrack and valgrind's tools come in
//! too). The program starts, and serves pages whose "today" is the faked date, which shows the
//! preloaded library is in force.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::tools::free_port;
use serde_json::Value;

use crate::common::{booking, require, Backend, TestApp};
use borgertun::domain::Role;

/// A Wednesday: its week view is «Uke 24 · 14.–20. juni 2027».
const FAKE_NOW: &str = "2027-06-16 10:00:00";

fn faketime() -> Result<PathBuf, String> {
    let found = Command::new("faketime")
        .args(["2027-01-01 00:00:00", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        Ok(PathBuf::from("faketime"))
    } else {
        Err("faketime (libfaketime): run `apt-get install faketime` (as scripts/test does)".into())
    }
}

/// `faketime FAKE_NOW borgertun ARGS`, in a process group of its own: `faketime` starts the
/// program as its child and passes no signal on, so the whole group is killed when dropped.
struct UnderFaketime(Child);

impl UnderFaketime {
    fn spawn(faketime: &PathBuf, args: &[&str], env: &[(&str, String)]) -> UnderFaketime {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(faketime);
        cmd.arg(FAKE_NOW)
            .arg(env!("CARGO_BIN_EXE_borgertun"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        UnderFaketime(cmd.spawn().expect("start faketime"))
    }

    /// Whether the program died (a crash at start), with its status.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().expect("wait for faketime")
    }
}

impl Drop for UnderFaketime {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

#[test]
fn version_runs_under_faketime() {
    let Some(faketime) = require(faketime()) else {
        return;
    };
    let out = Command::new(&faketime)
        .args([FAKE_NOW, env!("CARGO_BIN_EXE_borgertun"), "--version"])
        .output()
        .expect("run faketime");
    assert!(
        out.status.success(),
        "borgertun --version under faketime: {} (a signal means it crashed), stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("borgertun "), "{stdout}");
}

async fn serves_under_faketime_with_the_faked_date(b: Backend) {
    let Some(faketime) = require(faketime()) else {
        return;
    };
    // The in-process app migrates the database; the process under faketime serves it.
    let app = TestApp::spawn(b).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = UnderFaketime::spawn(
        &faketime,
        &["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config"), "serve"],
        &[
            ("BORGERTUN_DATABASE_URL", app.db_url.clone()),
            ("BORGERTUN_BIND", format!("127.0.0.1:{port}")),
            ("BORGERTUN_LOG", "warn".into()),
            (
                "BORGERTUN_MAIL__FILE_DIR",
                std::env::temp_dir().join("borgertun-test-mail").display().to_string(),
            ),
        ],
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.exited() {
            panic!("borgertun serve under faketime exited at start: {status} (a signal means it crashed)");
        }
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            assert!(r.status().is_success(), "/healthz: {}", r.status());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "borgertun serve under faketime did not answer /healthz"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The week view opens on "today", the faked one: the server's clock is libfaketime's.
    let page = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Uke 24 · 14.–20. juni 2027"),
        "not the faked week: {html}"
    );
    assert!(html.contains(r#"value="2027-06-16""#), "not the faked day: {html}");
    assert!(html.contains("(i dag)"), "no day marked as today: {html}");

    // A booking for the next (faked) day is written through the API, and the bookings list,
    // which starts today, the faked today, by default, has it. On the real clock, 90 days
    // from today, it would not.
    let token = app.user("kari@bergen.kommune.no", "beho", Role::Staff).await;
    let day = chrono::NaiveDate::from_ymd_opt(2027, 6, 17).unwrap();
    let res = client
        .post(format!("{base}/api/v1/bookings"))
        .bearer_auth(&token)
        .json(&booking(day, "10:00", "11:00", "Under faketime"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let created: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{created}");
    let res = client
        .get(format!("{base}/api/v1/bookings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    let ids: Vec<&Value> = list["bookings"].as_array().unwrap().iter().map(|b| &b["id"]).collect();
    assert_eq!(ids, [&created["id"]], "{list}");
    assert!(
        server.exited().is_none(),
        "borgertun serve under faketime died while serving"
    );
}

on_both_backends!(serves_under_faketime_with_the_faked_date);
