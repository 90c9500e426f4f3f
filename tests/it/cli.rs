//! The command line: check-config, migrate, user add, token create, --help.

use std::path::Path;
use std::process::{Command, Output};

fn borgertun(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_borgertun"));
    cmd.args(args)
        .env("BORGERTUN_LOG", "warn")
        .env_remove("BORGERTUN_DATABASE_URL")
        .env_remove("BORGERTUN_BIND");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run borgertun")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config");

/// A copy of the shipped configuration in a temp folder, with `edit` applied to one file.
fn config_copy(edit: impl Fn(&str, String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(CONFIG).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let content = std::fs::read_to_string(&path).unwrap();
        std::fs::write(dir.path().join(&name), edit(&name, content)).unwrap();
    }
    dir
}

#[test]
fn help_explains_every_command() {
    let (out, _) = text(&borgertun(&["--help"], &[]));
    for word in ["serve", "migrate", "check-config", "user", "token", "--config"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    let (out, _) = text(&borgertun(&["user", "add", "--help"], &[]));
    assert!(
        out.contains("--email") && out.contains("--org") && out.contains("coordinator"),
        "{out}"
    );
}

#[test]
fn check_config_accepts_the_shipped_configuration() {
    let o = borgertun(&["--config", CONFIG, "check-config"], &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("OK") && out.contains("4 tiers"), "{out}");
}

#[test]
fn check_config_reports_every_problem_with_file_and_key() {
    let dir = config_copy(|name, c| match name {
        "organisations.toml" => c.replacen("tier = \"partner\"", "tier = \"partnr\"", 1),
        "rooms.toml" => c
            .replace("monday = \"08:00-21:00\"", "monday = \"21:00-08:00\"")
            .replace("slot_minutes = 15", "slot_minutes = 7"),
        "rules.toml" => c.replacen("horizon_days = 365", "horizon_days = 0", 1),
        _ => c,
    });
    let o = borgertun(&["--config", dir.path().to_str().unwrap(), "check-config"], &[]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    for (file, key) in [
        ("organisations.toml", "organisations.uib.tier"),
        ("rooms.toml", "rooms.borgertun.opening_hours.monday"),
        ("rooms.toml", "rooms.borgertun.slot_minutes"),
        ("rules.toml", "tiers.owner.horizon_days"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(key)),
            "no line names {file} and {key}:\n{err}"
        );
    }
    assert!(err.contains("4 problem(s)"), "{err}");
}

#[test]
fn check_config_reports_plan_problems_with_file_and_key() {
    let dir = config_copy(|name, c| match name {
        "plan.toml" => c
            // The 2026–2030 plan now starts inside 2022–2023.
            .replace("from = \"2026-01-01\"", "from = \"2023-07-01\"")
            .replacen("focus_area = \"forskning\"", "focus_area = \"forsking\"", 1)
            .replace("key = \"2026-kommunikasjon-2\"", "key = \"2026-kommunikasjon-1\"")
            .replace(
                "{ key = \"seminar\", name = \"Seminar\" }",
                "{ key = \"seminar\", name = \" \" }",
            ),
        _ => c,
    });
    let o = borgertun(&["--config", dir.path().to_str().unwrap(), "check-config"], &[]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    for key in [
        "plan.action_plans.2026-2030.from",
        "plan.action_plans.2022-2023.measures[6].focus_area",
        "plan.action_plans.2026-2030.measures[1].key",
        "plan.kinds[2].name",
    ] {
        assert!(
            err.lines().any(|l| l.contains("plan.toml") && l.contains(key)),
            "no line names plan.toml and {key}:\n{err}"
        );
    }
    assert!(err.contains("4 problem(s)"), "{err}");
}

#[test]
fn check_config_names_unknown_keys_and_bad_environment_values() {
    let dir = config_copy(|name, c| {
        if name == "rooms.toml" {
            c.replace("capacity = 80", "capacity = 80\ncolour = \"blå\"")
        } else {
            c
        }
    });
    let (_, err) = text(&borgertun(
        &["--config", dir.path().to_str().unwrap(), "check-config"],
        &[],
    ));
    assert!(err.contains("rooms.toml") && err.contains("colour"), "{err}");

    let o = borgertun(
        &["--config", CONFIG, "check-config"],
        &[("BORGERTUN_RULES__PROTECTION_WINDOW_DAYS", "-3")],
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("BORGERTUN_") && err.contains("rules.protection_window_days"),
        "{err}"
    );

    let o = borgertun(
        &["--config", CONFIG, "check-config"],
        &[("BORGERTUN_DATABASE_URL", "mysql://x")],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("database.url"));
}

#[test]
fn environment_overrides_and_config_folder_work() {
    let o = borgertun(
        &["check-config"],
        &[
            ("BORGERTUN_CONFIG", CONFIG),
            ("BORGERTUN_DATABASE_URL", "postgres://db.example/borgertun"),
        ],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("postgres://db.example/borgertun"), "{out}");
    let missing = borgertun(&["--config", "/nonexistent-folder", "check-config"], &[]);
    assert!(!missing.status.success());
    assert!(text(&missing).1.contains("/nonexistent-folder"));
}

#[test]
fn users_and_tokens_are_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("data/cli.db").display());
    let env = [("BORGERTUN_DATABASE_URL", db.as_str())];
    let run = |args: &[&str]| {
        let mut all = vec!["--config", CONFIG];
        all.extend_from_slice(args);
        borgertun(&all, &env)
    };
    assert!(run(&["migrate"]).status.success());
    assert!(
        Path::new(&dir.path().join("data/cli.db")).exists(),
        "the database file is created with its folder"
    );

    let o = run(&[
        "user",
        "add",
        "--email",
        "Kari@UiB.no",
        "--name",
        "Kari Nordmann",
        "--org",
        "uib",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("kari@uib.no"));
    let dup = run(&[
        "user",
        "add",
        "--email",
        "kari@uib.no",
        "--name",
        "Kari",
        "--org",
        "uib",
    ]);
    assert!(!dup.status.success());
    assert!(text(&dup).1.contains("already exists"));
    let bad_org = run(&["user", "add", "--email", "x@y.no", "--name", "X", "--org", "nasa"]);
    assert!(!bad_org.status.success());
    assert!(text(&bad_org).1.contains("unknown organisation «nasa»"));
    let bad_email = run(&["user", "add", "--email", "not-an-email", "--name", "X", "--org", "uib"]);
    assert!(!bad_email.status.success());
    let bad_role = run(&[
        "user", "add", "--email", "x@uib.no", "--name", "X", "--org", "uib", "--role", "king",
    ]);
    assert!(!bad_role.status.success());

    let o = run(&["token", "create", "--email", "kari@uib.no"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    let token = out.trim();
    assert!(token.starts_with("bt_") && token.len() == 67, "{token}");
    let o2 = run(&["token", "create", "--email", "kari@uib.no"]);
    assert_ne!(text(&o2).0.trim(), token, "every token is new");
    assert!(!run(&["token", "create", "--email", "nobody@uib.no"]).status.success());

    // Only the hash is stored.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&db).await.unwrap();
        let hashes: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM api_tokens")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(hashes.len(), 2);
        assert!(hashes.iter().all(|(h,)| h != token && h.len() == 64));
    });
}
