//! Schemathesis against the served OpenAPI document at a real server, as a coordinator and as a
//! requester: no 5xx, no undocumented status, no response that breaks its schema, bad input
//! refused (`--checks all`, positive and negative examples, a fixed seed).
//!
//! Schemathesis comes from the test venv (`target/ci-venv`, or `BORGERTUN_TEST_SCHEMATHESIS`);
//! missing, the test is skipped through `common::require` (and fails under `CI=true`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{booking, Backend, TestApp};
use borgertun::domain::Role;

on_both_backends!(the_api_keeps_its_contract_under_schemathesis);

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The `schemathesis` command: `BORGERTUN_TEST_SCHEMATHESIS`, or the one next to the test
/// venv's Python (`BORGERTUN_TEST_PYTHON`, or `target/ci-venv/bin/python`).
fn schemathesis() -> Result<PathBuf, String> {
    let candidate = std::env::var_os("BORGERTUN_TEST_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let python = std::env::var_os("BORGERTUN_TEST_PYTHON")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(ROOT).join("target/ci-venv/bin/python"));
            python.with_file_name("schemathesis")
        });
    let ok = Command::new(&candidate)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(format!(
            "schemathesis ({}): `target/ci-venv/bin/pip install -r tests/validators/requirements.txt` (as scripts/test does)",
            candidate.display()
        ));
    }
    Ok(candidate)
}

async fn the_api_keeps_its_contract_under_schemathesis(b: Backend) {
    let Some(st) = crate::common::require(schemathesis()) else {
        return;
    };
    // Schemathesis sends hundreds of booking writes with one token; the limit on them is
    // tested in hardening.rs, not here (its 429 is no answer to bad data).
    let app = TestApp::spawn_with(b, |c| c.server.api_booking_writes_per_minute = 100_000).await;
    let coordinator = app
        .user("koordinator@bergen.kommune.no", "beho", Role::Coordinator)
        .await;
    let requester = app.user("kari@uib.no", "uib", Role::Requester).await;
    let other = app.user("ola@hvl.no", "hvl", Role::Requester).await;
    // Something to find: bookings 1–3 (one pending), so ids in examples meet real ones.
    let day = app.open_day(14);
    app.post(&requester, "/api/v1/bookings", &booking(day, "09:00", "10:00", "UiB"))
        .await;
    app.post(&other, "/api/v1/bookings", &booking(day, "12:00", "13:00", "HVL"))
        .await;
    app.post(
        &coordinator,
        "/api/v1/bookings",
        &booking(day, "09:00", "10:00", "BEHO"),
    )
    .await;

    let base = app.base.clone();
    for (who, token) in [("coordinator", coordinator), ("requester", requester)] {
        let st = st.clone();
        let base = base.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(st)
                .args(["run", &format!("{base}/api/v1/openapi.json")])
                .args(["--base-url", &base])
                .args(["--experimental", "openapi-3.1"])
                .args(["--checks", "all"])
                .args(["--data-generation-method", "all"])
                .args(["--hypothesis-max-examples", "25"])
                .args(["--hypothesis-seed", "20261201"])
                .args(["--hypothesis-database", "none"])
                .args(["--hypothesis-suppress-health-check", "all"])
                .args(["--request-timeout", "10000"])
                .args(["--workers", "2"])
                .args(["--no-color"])
                .args(["-H", &format!("Authorization: Bearer {token}")])
                .env("SCHEMATHESIS_TELEMETRY", "false")
                .current_dir(std::env::temp_dir())
                .output()
                .expect("run schemathesis")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "schemathesis as {who} on {b:?} found problems:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "schemathesis as {who} on {b:?}: {}",
            stdout.lines().last().unwrap_or_default()
        );
    }
}
