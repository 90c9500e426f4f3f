//! Configuration: every `*.toml` in the config folder, then `BORGERTUN_*` environment
//! variables, validated into the domain's `Rules` and `Plan` with precise messages (file and key).

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::Deserialize;

use crate::domain::plan::{ActionPlan, FocusArea, Measure, Plan, Term};
use crate::domain::{Closure, OpeningHours, Organisation, Room, Rules, Tier};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// host:port
    pub bind: String,
    /// The address people reach the service at; defaults to `http://{bind}`.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_body_limit")]
    pub max_body_bytes: usize,
    /// The proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed; none by
    /// default, so the socket's peer is the client.
    #[serde(default, deserialize_with = "networks")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Booking writes (POST, PATCH of `/api/v1/bookings…`) an API token may make in a minute:
    /// that many at once, then one every `60 / n` seconds.
    #[serde(default = "default_api_writes")]
    pub api_booking_writes_per_minute: u32,
    /// The key of the anti-forgery tokens (at least 32 characters; also
    /// `BORGERTUN_SERVER__SECRET`). Unset: one is made at first start and kept in the
    /// database, so every instance on it shares it.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// How log lines are written: `text` (the default) or `json`, one object a line.
    #[serde(default)]
    pub log_format: LogFormat,
    /// On SIGTERM or Ctrl-C: how long requests in flight, and then the workers, may take to
    /// finish before the process exits anyway.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace_seconds: u64,
    /// host:port of the Prometheus endpoint `/metrics`, a listener of its own; unset (the
    /// default): no metrics are kept. Bind it where only the monitoring reaches.
    #[serde(default)]
    pub metrics_bind: Option<String>,
}

fn default_shutdown_grace() -> u64 {
    20
}

/// `server.log_format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The log format the configuration in `dir` (and the environment) asks for, read before the
/// rest is loaded so that every line of a run is written alike; text when it cannot be read
/// (the full load then reports the problem).
pub fn log_format(dir: &Path) -> LogFormat {
    figment(dir)
        .ok()
        .and_then(|f| f.extract_inner::<LogFormat>("server.log_format").ok())
        .unwrap_or_default()
}

/// A secret setting: never shown by `Debug`, so it cannot reach a log.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// `[auth]`: how long sessions and API tokens last.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A session ends this many hours after sign-in, however busy.
    pub session_hours: i64,
    /// A session unused for this many minutes has ended.
    pub session_idle_minutes: i64,
    /// An API token works for this many days from its making.
    pub api_token_days: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_hours: 12,
            session_idle_minutes: 120,
            api_token_days: 365,
        }
    }
}

fn default_body_limit() -> usize {
    16 * 1024
}

fn default_api_writes() -> u32 {
    30
}

/// A list of networks: `10.0.0.0/8`, `2001:db8::/32`, or a single address (`192.0.2.7`).
fn networks<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    let raw: Vec<String> = Vec::deserialize(d)?;
    raw.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "«{s}» is not an IP address or a CIDR range (e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32)"
                    ))
                })
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// How long a request waits for a connection from the pool before it is answered
    /// `503 unavailable` (the database is down, or every connection is busy).
    #[serde(default = "default_acquire_timeout_seconds")]
    pub acquire_timeout_seconds: u64,
}

fn default_max_connections() -> u32 {
    10
}

fn default_acquire_timeout_seconds() -> u64 {
    3
}

impl DatabaseConfig {
    /// The pool settings this configuration asks for.
    pub fn pool(&self) -> crate::store::PoolSettings {
        crate::store::PoolSettings {
            max_connections: self.max_connections,
            acquire_timeout: std::time::Duration::from_secs(self.acquire_timeout_seconds),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: String,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    smtp_url: Option<String>,
    file_dir: String,
    poll_interval_ms: u64,
    retry_base_ms: u64,
    max_retry_ms: u64,
    max_attempts: i64,
    uid_domain: String,
    #[serde(default = "default_lease_seconds")]
    lease_seconds: u64,
}

fn default_lease_seconds() -> u64 {
    60
}

/// Mail settings, validated.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: lettre::message::Mailbox,
    pub reply_to: Option<lettre::message::Mailbox>,
    /// `None`: write `.eml` files to `file_dir`.
    pub smtp_url: Option<String>,
    pub file_dir: PathBuf,
    pub poll_interval: std::time::Duration,
    pub retry_base: std::time::Duration,
    pub max_retry: std::time::Duration,
    pub max_attempts: i64,
    pub uid_domain: String,
    /// How long a worker holds the messages it claimed: after a crash, another worker (or
    /// the restarted one) sends them when it has run out.
    pub lease: std::time::Duration,
}

impl MailConfig {
    /// How long one SMTP delivery may take: well inside the lease, so no other worker takes
    /// the message while it is being sent.
    pub fn smtp_timeout(&self) -> std::time::Duration {
        (self.lease / 2).clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(20))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    pub past_days: i64,
    pub refresh_minutes: i64,
}

/// `[privacy]`: how long personal data is kept, and who answers for it (the privacy page).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Months after a booking's end before its personal data is anonymised.
    pub retention_months: u32,
    /// The controller («behandlingsansvarlig»), named on the privacy page.
    pub controller: String,
    /// Whom people write to about their personal data (insight, correction, erasure, a
    /// problem).
    pub contact_email: String,
    /// The data protection officer («personvernombud»), optional.
    pub data_protection_officer: Option<String>,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            retention_months: crate::domain::privacy::DEFAULT_RETENTION_MONTHS,
            controller: "Bergen kommune ved Byrådsavdeling for eldre, helse og omsorg".to_string(),
            contact_email: "alrek.koordinator@bergen.kommune.no".to_string(),
            data_protection_officer: None,
        }
    }
}

/// Hours before a confirmed booking's start its contact is reminded, by default.
pub const DEFAULT_REMINDER_HOURS: i64 = 24;

/// `[reminders]`: the mail before a confirmed booking starts, with a link to cancel it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersConfig {
    /// Hours before the start the reminder is sent.
    pub hours_before: i64,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        Self {
            hours_before: DEFAULT_REMINDER_HOURS,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: ServerConfig,
    database: DatabaseConfig,
    mail: RawMail,
    feeds: FeedsConfig,
    #[serde(default)]
    privacy: PrivacyConfig,
    #[serde(default)]
    reminders: RemindersConfig,
    #[serde(default)]
    auth: AuthConfig,
    rules: RawRules,
    #[serde(default)]
    series: crate::domain::rules::SeriesLimits,
    #[serde(default)]
    waitlist: crate::domain::rules::WaitlistRules,
    #[serde(default)]
    check_in: crate::domain::rules::CheckInRules,
    tiers: BTreeMap<String, RawTier>,
    rooms: BTreeMap<String, RawRoom>,
    #[serde(default)]
    closures: Vec<RawClosure>,
    organisations: BTreeMap<String, RawOrganisation>,
    plan: RawPlan,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    tier_order: Vec<String>,
    protection_window_days: i64,
    #[serde(default = "yes")]
    closed_on_public_holidays: bool,
    #[serde(default = "default_alternatives")]
    alternatives: usize,
}

fn yes() -> bool {
    true
}
fn default_alternatives() -> usize {
    5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    name: String,
    plural: String,
    horizon_days: i64,
    min_duration_minutes: i64,
    max_duration_minutes: i64,
    auto_confirm: bool,
    #[serde(default)]
    monthly_quota_hours: Option<i64>,
    #[serde(default)]
    check_in: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoom {
    name: String,
    address: String,
    capacity: i64,
    buffer_minutes: i64,
    slot_minutes: i64,
    #[serde(default)]
    opening_hours: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClosure {
    name: String,
    from: String,
    to: String,
    #[serde(default)]
    room: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    name: String,
    tier: String,
    #[serde(default)]
    email_domains: Vec<String>,
}

/// `[plan]`: the action plans and the activity vocabulary (`plan.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    goal_areas: Vec<RawTerm>,
    #[serde(default)]
    kinds: Vec<RawTerm>,
    #[serde(default)]
    themes: Vec<RawTerm>,
    #[serde(default)]
    groups: Vec<RawTerm>,
    #[serde(default)]
    action_plans: BTreeMap<String, RawActionPlan>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTerm {
    key: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActionPlan {
    name: String,
    from: String,
    to: String,
    #[serde(default)]
    focus_areas: Vec<RawTerm>,
    #[serde(default)]
    measures: Vec<RawMeasure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    key: String,
    focus_area: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub mail: MailConfig,
    pub feeds: FeedsConfig,
    pub privacy: PrivacyConfig,
    pub reminders: RemindersConfig,
    pub auth: AuthConfig,
    pub rules: Rules,
    /// The action plans and the activity vocabulary.
    pub plan: Plan,
}

impl Config {
    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.bind))
            .trim_end_matches('/')
            .to_string()
    }
}

/// Every problem found, each as «file: key: what is wrong».
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigErrors(pub Vec<String>);

const SECTIONS: [&str; 16] = [
    "server",
    "database",
    "mail",
    "feeds",
    "privacy",
    "reminders",
    "auth",
    "rules",
    "series",
    "waitlist",
    "check_in",
    "tiers",
    "rooms",
    "closures",
    "organisations",
    "plan",
];

/// The environment provider: `BORGERTUN_SECTION__KEY`, plus the short names
/// `BORGERTUN_DATABASE_URL`, `BORGERTUN_BIND`, `BORGERTUN_PUBLIC_URL` and `BORGERTUN_SMTP_URL`. Other
/// `BORGERTUN_*` variables (like `BORGERTUN_CONFIG`) are not settings and are ignored here.
fn env_provider() -> Env {
    Env::prefixed("BORGERTUN_").filter_map(|key| {
        let key = key.as_str().to_ascii_lowercase();
        let mapped = match key.as_str() {
            "database_url" => "database.url".to_string(),
            "bind" => "server.bind".to_string(),
            "public_url" => "server.public_url".to_string(),
            "smtp_url" => "mail.smtp_url".to_string(),
            other => other.replace("__", "."),
        };
        let section = mapped.split('.').next().unwrap_or_default();
        (SECTIONS.contains(&section) && mapped.contains('.')).then(|| mapped.into())
    })
}

pub fn figment(dir: &Path) -> Result<Figment, ConfigErrors> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        ConfigErrors(vec![format!(
            "{}: cannot read the configuration folder: {e}",
            dir.display()
        )])
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ConfigErrors(vec![format!(
            "{}: no *.toml files in the configuration folder",
            dir.display()
        )]));
    }
    let mut fig = Figment::new();
    for f in files {
        fig = fig.merge(Toml::file_exact(f));
    }
    Ok(fig.merge(env_provider()))
}

/// Load and validate the configuration in `dir`.
pub fn load(dir: &Path) -> Result<Config, ConfigErrors> {
    load_from(dir, figment(dir)?)
}

/// Read and validate the configuration that `fig` holds (the files of `dir` and the
/// environment, for [`load`]); problems name their file, or `dir`, and key. The fuzz target
/// `config` (`fuzz/`) gives it TOML text of its own.
pub fn load_from(dir: &Path, fig: Figment) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = fig.extract().map_err(|e| {
        ConfigErrors(
            e.into_iter()
                .map(|e| {
                    let source = e
                        .metadata
                        .as_ref()
                        .and_then(|m| m.source.as_ref())
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| dir.display().to_string());
                    let key = if e.path.is_empty() {
                        "(top level)".to_string()
                    } else {
                        e.path.join(".")
                    };
                    format!("{source}: {key}: {}", e.kind)
                })
                .collect(),
        )
    })?;
    let mut v = Validator {
        fig: &fig,
        dir,
        errors: Vec::new(),
    };
    let rules = v.rules(&raw);
    let plan = v.plan(&raw.plan);
    v.server(&raw);
    let mail = v.mail(&raw.mail);
    if raw.feeds.past_days < 0 {
        v.err("feeds.past_days", "must not be negative");
    }
    if raw.feeds.refresh_minutes < 1 {
        v.err("feeds.refresh_minutes", "must be at least 1");
    }
    v.privacy(&raw.privacy);
    if !(2..=168).contains(&raw.reminders.hours_before) {
        v.err("reminders.hours_before", "must be between 2 and 168 (hours)");
    }
    if let Some(bind) = &raw.server.metrics_bind {
        if bind.parse::<std::net::SocketAddr>().is_err() {
            v.err(
                "server.metrics_bind",
                "must be host:port with an IP address, e.g. 127.0.0.1:9464",
            );
        } else if *bind == raw.server.bind {
            v.err("server.metrics_bind", "must differ from server.bind");
        }
    }
    if !(1..=600).contains(&raw.server.shutdown_grace_seconds) {
        v.err("server.shutdown_grace_seconds", "must be between 1 and 600 (seconds)");
    }
    if raw.series.max_conflict_percent > 100 {
        v.err("series.max_conflict_percent", "must be between 0 and 100 (per cent)");
    }
    v.auth(&raw);
    match mail {
        Some(mail) if v.errors.is_empty() => Ok(Config {
            dir: dir.to_path_buf(),
            server: raw.server,
            database: raw.database,
            mail,
            feeds: raw.feeds,
            privacy: raw.privacy,
            reminders: raw.reminders,
            auth: raw.auth,
            rules,
            plan,
        }),
        _ => Err(ConfigErrors(v.errors)),
    }
}

struct Validator<'a> {
    fig: &'a Figment,
    dir: &'a Path,
    errors: Vec<String>,
}

impl Validator<'_> {
    /// Record a problem at `key`, naming the file (or variable) it came from.
    fn err(&mut self, key: &str, msg: impl std::fmt::Display) {
        let mut probe = key.to_string();
        let source = loop {
            if let Some(src) = self.fig.find_metadata(&probe).and_then(|m| {
                m.source
                    .as_ref()
                    .map(|s| s.to_string())
                    .or_else(|| Some(m.name.to_string()))
            }) {
                break src;
            }
            match probe.rfind('.') {
                Some(i) => probe.truncate(i),
                None => break self.dir.display().to_string(),
            }
        };
        self.errors.push(format!("{source}: {key}: {msg}"));
    }

    fn mail(&mut self, raw: &RawMail) -> Option<MailConfig> {
        use lettre::message::Mailbox;
        let from = raw
            .from
            .parse::<Mailbox>()
            .map_err(|e| self.err("mail.from", format!("«{}» is not an address: {e}", raw.from)))
            .ok();
        let reply_to = match &raw.reply_to {
            Some(r) => match r.parse::<Mailbox>() {
                Ok(m) => Some(m),
                Err(e) => {
                    self.err("mail.reply_to", format!("«{r}» is not an address: {e}"));
                    None
                }
            },
            None => None,
        };
        let smtp_url = raw.smtp_url.clone().filter(|u| !u.trim().is_empty());
        if let Some(u) = &smtp_url {
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                self.err(
                    "mail.smtp_url",
                    format!("«{}» must start with smtp:// or smtps://", redact_url(u)),
                );
            }
        }
        if raw.poll_interval_ms < 10 {
            self.err("mail.poll_interval_ms", "must be at least 10");
        }
        if raw.retry_base_ms < 10 || raw.max_retry_ms < raw.retry_base_ms {
            self.err("mail.retry_base_ms", "must be at least 10 and not above max_retry_ms");
        }
        if raw.max_attempts < 1 {
            self.err("mail.max_attempts", "must be at least 1");
        }
        if !(2..=3600).contains(&raw.lease_seconds) {
            self.err("mail.lease_seconds", "must be between 2 and 3600 (seconds)");
        }
        if raw.uid_domain.is_empty() || raw.uid_domain.contains(['@', ' ', '/']) {
            self.err(
                "mail.uid_domain",
                "must be a domain name like borgertun.bergen.kommune.no",
            );
        }
        Some(MailConfig {
            from: from?,
            reply_to,
            smtp_url,
            file_dir: PathBuf::from(&raw.file_dir),
            poll_interval: std::time::Duration::from_millis(raw.poll_interval_ms),
            retry_base: std::time::Duration::from_millis(raw.retry_base_ms),
            max_retry: std::time::Duration::from_millis(raw.max_retry_ms),
            max_attempts: raw.max_attempts,
            uid_domain: raw.uid_domain.clone(),
            lease: std::time::Duration::from_secs(raw.lease_seconds),
        })
    }

    fn privacy(&mut self, p: &PrivacyConfig) {
        if !(1..=240).contains(&p.retention_months) {
            self.err("privacy.retention_months", "must be between 1 and 240 (months)");
        }
        if p.controller.trim().is_empty() {
            self.err("privacy.controller", "must name the controller, e.g. Bergen kommune");
        }
        if crate::domain::booking::parse_email(&p.contact_email).is_err() {
            self.err(
                "privacy.contact_email",
                format!("«{}» is not an e-mail address", p.contact_email),
            );
        }
    }

    fn auth(&mut self, raw: &RawConfig) {
        let a = &raw.auth;
        if !(1..=24 * 31).contains(&a.session_hours) {
            self.err("auth.session_hours", "must be between 1 and 744 (31 days)");
        }
        if a.session_idle_minutes < 5 || a.session_idle_minutes > a.session_hours * 60 {
            self.err(
                "auth.session_idle_minutes",
                "must be at least 5 and at most auth.session_hours in minutes",
            );
        }
        if !(1..=3650).contains(&a.api_token_days) {
            self.err("auth.api_token_days", "must be between 1 and 3650");
        }
        if let Some(secret) = &raw.server.secret {
            if secret.expose().trim().chars().count() < 32 {
                self.err(
                    "server.secret",
                    "must be at least 32 characters (e.g. the output of `openssl rand -hex 32`)",
                );
            }
        }
    }

    fn server(&mut self, raw: &RawConfig) {
        if raw.server.bind.parse::<SocketAddr>().is_err() {
            self.err(
                "server.bind",
                format!(
                    "«{}» is not host:port with a numeric address, e.g. 127.0.0.1:8080",
                    raw.server.bind
                ),
            );
        }
        let url = &raw.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            self.err(
                "database.url",
                format!("«{url}» must start with sqlite:// or postgres://"),
            );
        }
        if raw.database.max_connections == 0 {
            self.err("database.max_connections", "must be at least 1");
        }
        if !(1..=300).contains(&raw.database.acquire_timeout_seconds) {
            self.err(
                "database.acquire_timeout_seconds",
                "must be between 1 and 300 (seconds)",
            );
        }
        if raw.server.api_booking_writes_per_minute == 0 {
            self.err("server.api_booking_writes_per_minute", "must be at least 1");
        }
        if raw.server.max_body_bytes < 1024 {
            self.err("server.max_body_bytes", "must be at least 1024");
        }
        if let Some(u) = &raw.server.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                self.err(
                    "server.public_url",
                    format!("«{u}» must start with http:// or https://"),
                );
            }
        }
    }

    fn rules(&mut self, raw: &RawConfig) -> Rules {
        let mut tiers = Vec::new();
        let mut seen = HashSet::new();
        if raw.rules.tier_order.is_empty() {
            self.err("rules.tier_order", "must name at least one tier");
        }
        for (rank, key) in raw.rules.tier_order.iter().enumerate() {
            if !seen.insert(key.clone()) {
                self.err("rules.tier_order", format!("tier «{key}» is listed twice"));
                continue;
            }
            let Some(t) = raw.tiers.get(key) else {
                self.err("rules.tier_order", format!("tier «{key}» has no [tiers.{key}] section"));
                continue;
            };
            let k = format!("tiers.{key}");
            if t.name.trim().is_empty() {
                self.err(&format!("{k}.name"), "must not be empty");
            }
            if t.horizon_days < 1 {
                self.err(&format!("{k}.horizon_days"), "must be at least 1");
            }
            if t.min_duration_minutes < 1 {
                self.err(&format!("{k}.min_duration_minutes"), "must be at least 1");
            }
            if t.max_duration_minutes > 24 * 60 {
                self.err(&format!("{k}.max_duration_minutes"), "must be at most 1440 (a day)");
            }
            if t.max_duration_minutes < t.min_duration_minutes {
                self.err(
                    &format!("{k}.max_duration_minutes"),
                    format!("must not be below min_duration_minutes ({})", t.min_duration_minutes),
                );
            }
            if t.monthly_quota_hours.is_some_and(|q| q < 1) {
                self.err(
                    &format!("{k}.monthly_quota_hours"),
                    "must be at least 1 (leave it out for no quota)",
                );
            }
            tiers.push(Tier {
                key: key.clone(),
                rank,
                name: t.name.clone(),
                plural: t.plural.clone(),
                horizon_days: t.horizon_days,
                min_minutes: t.min_duration_minutes,
                max_minutes: t.max_duration_minutes,
                auto_confirm: t.auto_confirm,
                monthly_quota_hours: t.monthly_quota_hours,
                check_in: t.check_in,
            });
        }
        for key in raw.tiers.keys() {
            if !seen.contains(key) {
                self.err(&format!("tiers.{key}"), "is not listed in rules.tier_order");
            }
        }
        if raw.rules.protection_window_days < 0 {
            self.err("rules.protection_window_days", "must not be negative");
        }
        if !(1..=20).contains(&raw.rules.alternatives) {
            self.err("rules.alternatives", "must be between 1 and 20");
        }
        if !(1..=168).contains(&raw.waitlist.hold_hours) {
            self.err("waitlist.hold_hours", "must be between 1 and 168 (hours)");
        }
        if !(0..=72).contains(&raw.waitlist.hold_ends_before_start_hours) {
            self.err(
                "waitlist.hold_ends_before_start_hours",
                "must be between 0 and 72 (hours)",
            );
        }
        if !(0..=120).contains(&raw.check_in.opens_minutes_before) {
            self.err("check_in.opens_minutes_before", "must be between 0 and 120 (minutes)");
        }
        if !(5..=240).contains(&raw.check_in.release_minutes) {
            self.err("check_in.release_minutes", "must be between 5 and 240 (minutes)");
        }

        let rooms = self.rooms(raw);
        let mut closures = Vec::new();
        for (i, c) in raw.closures.iter().enumerate() {
            let k = format!("closures[{i}]");
            let from = self.date(&format!("{k}.from"), &c.from);
            let to = self.date(&format!("{k}.to"), &c.to);
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    self.err(&format!("{k}.to"), format!("{to} is before from ({from})"));
                }
                if let Some(r) = &c.room {
                    if !raw.rooms.contains_key(r) {
                        self.err(&format!("{k}.room"), format!("unknown room «{r}»"));
                    }
                }
                closures.push(Closure {
                    from,
                    to,
                    name: c.name.clone(),
                    room: c.room.clone(),
                });
            }
        }

        let mut organisations = Vec::new();
        let mut domains: BTreeMap<String, String> = BTreeMap::new();
        for (key, o) in &raw.organisations {
            let k = format!("organisations.{key}");
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                self.err(&k, "the key must be lower-case letters a–z, digits and «-»");
            }
            if o.name.trim().is_empty() {
                self.err(&format!("{k}.name"), "must not be empty");
            }
            if !raw.tiers.contains_key(&o.tier) {
                self.err(
                    &format!("{k}.tier"),
                    format!("unknown tier «{}» (known: {})", o.tier, raw.rules.tier_order.join(", ")),
                );
            }
            for d in &o.email_domains {
                if d.is_empty() || d != &d.to_lowercase() || !d.contains('.') || d.contains('@') {
                    self.err(
                        &format!("{k}.email_domains"),
                        format!("«{d}» is not a lower-case domain like uib.no"),
                    );
                }
                if let Some(other) = domains.insert(d.clone(), key.clone()) {
                    self.err(
                        &format!("{k}.email_domains"),
                        format!("«{d}» also belongs to organisation «{other}»"),
                    );
                }
            }
            organisations.push(Organisation {
                key: key.clone(),
                name: o.name.clone(),
                tier: o.tier.clone(),
                email_domains: o.email_domains.clone(),
            });
        }
        if organisations.is_empty() {
            self.err("organisations", "at least one organisation is needed");
        }
        // Listing order: by tier, then name.
        let rank = |t: &str| raw.rules.tier_order.iter().position(|x| x == t).unwrap_or(usize::MAX);
        organisations.sort_by(|a, b| rank(&a.tier).cmp(&rank(&b.tier)).then_with(|| a.name.cmp(&b.name)));

        Rules {
            rooms,
            tiers,
            organisations,
            protection_window_days: raw.rules.protection_window_days,
            closures,
            closed_on_public_holidays: raw.rules.closed_on_public_holidays,
            alternatives: raw.rules.alternatives,
            series: raw.series,
            waitlist: raw.waitlist,
            check_in: raw.check_in,
        }
    }

    fn rooms(&mut self, raw: &RawConfig) -> Vec<Room> {
        const DAYS: [&str; 7] = crate::domain::rules::WEEKDAY_KEYS;
        if raw.rooms.is_empty() {
            self.err("rooms", "at least one room is needed");
        }
        let mut rooms = Vec::new();
        for (key, r) in &raw.rooms {
            let k = format!("rooms.{key}");
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                self.err(&k, "the key must be lower-case letters a–z, digits and «-»");
            }
            if r.capacity < 1 {
                self.err(&format!("{k}.capacity"), "must be at least 1");
            }
            if !(0..=12 * 60).contains(&r.buffer_minutes) {
                self.err(&format!("{k}.buffer_minutes"), "must be between 0 and 720 minutes");
            }
            if r.slot_minutes < 1 || 60 % r.slot_minutes != 0 {
                self.err(
                    &format!("{k}.slot_minutes"),
                    "must divide an hour: 5, 10, 15, 20, 30 or 60",
                );
            }
            let mut hours = OpeningHours::default();
            for (day, span) in &r.opening_hours {
                let hk = format!("{k}.opening_hours.{day}");
                let Some(i) = DAYS.iter().position(|d| d == day) else {
                    self.err(&hk, format!("unknown weekday (use {})", DAYS.join(", ")));
                    continue;
                };
                let parsed = span.split_once('-').and_then(|(a, b)| {
                    Some((
                        NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?,
                        NaiveTime::parse_from_str(b.trim(), "%H:%M").ok()?,
                    ))
                });
                match parsed {
                    Some((open, close)) if open < close => {
                        use chrono::Timelike;
                        if r.slot_minutes > 0
                            && (open.minute() as i64 % r.slot_minutes != 0
                                || close.minute() as i64 % r.slot_minutes != 0)
                        {
                            self.err(
                                &hk,
                                format!("«{span}» is not on the {}-minute slot grid", r.slot_minutes),
                            );
                        }
                        hours.0[i] = Some((open, close));
                    }
                    Some(_) => self.err(&hk, format!("«{span}»: opening must be before closing")),
                    None => self.err(&hk, format!("«{span}» is not like \"08:00-21:00\"")),
                }
            }
            rooms.push(Room {
                key: key.clone(),
                name: r.name.clone(),
                address: r.address.clone(),
                capacity: r.capacity,
                opening_hours: hours,
                buffer_minutes: r.buffer_minutes,
                slot_minutes: r.slot_minutes.max(1),
            });
        }
        rooms
    }

    /// `[plan]`: unique, well-formed keys everywhere; names; plan periods in order and apart;
    /// every measure in a focus area of its plan.
    fn plan(&mut self, raw: &RawPlan) -> Plan {
        let goal_areas = self.terms("plan.goal_areas", &raw.goal_areas);
        let kinds = self.terms("plan.kinds", &raw.kinds);
        let themes = self.terms("plan.themes", &raw.themes);
        let groups = self.terms("plan.groups", &raw.groups);
        if raw.kinds.is_empty() {
            self.err("plan.kinds", "at least one activity kind is needed");
        }
        if raw.groups.is_empty() {
            self.err("plan.groups", "at least one participant group is needed");
        }

        let mut plans: Vec<ActionPlan> = Vec::new();
        // Measure keys are unique across all plans: key → where it was first seen.
        let mut measure_keys: BTreeMap<&str, String> = BTreeMap::new();
        for (key, p) in &raw.action_plans {
            let k = format!("plan.action_plans.{key}");
            if !is_key(key) {
                self.err(&k, "the key must be lower-case letters a–z, digits and «-»");
            }
            if p.name.trim().is_empty() {
                self.err(&format!("{k}.name"), "must not be empty");
            }
            let from = self.date(&format!("{k}.from"), &p.from);
            let to = self.date(&format!("{k}.to"), &p.to);
            let focus_areas: Vec<FocusArea> = self
                .terms(&format!("{k}.focus_areas"), &p.focus_areas)
                .into_iter()
                .map(|t| FocusArea {
                    key: t.key,
                    name: t.name,
                })
                .collect();
            let mut measures = Vec::new();
            for (i, m) in p.measures.iter().enumerate() {
                let mk = format!("{k}.measures[{i}]");
                if !is_key(&m.key) {
                    self.err(
                        &format!("{mk}.key"),
                        format!("«{}» must be lower-case letters a–z, digits and «-»", m.key),
                    );
                } else if let Some(first) = measure_keys.get(m.key.as_str()) {
                    self.err(
                        &format!("{mk}.key"),
                        format!(
                            "«{}» is also the key of {first}; measure keys are unique across plans",
                            m.key
                        ),
                    );
                } else {
                    measure_keys.insert(&m.key, mk.clone());
                }
                if m.name.trim().is_empty() {
                    self.err(&format!("{mk}.name"), "must not be empty");
                }
                if m.description.as_ref().is_some_and(|d| d.trim().is_empty()) {
                    self.err(&format!("{mk}.description"), "must not be empty (leave it out instead)");
                }
                if !p.focus_areas.iter().any(|f| f.key == m.focus_area) {
                    let known: Vec<&str> = p.focus_areas.iter().map(|f| f.key.as_str()).collect();
                    self.err(
                        &format!("{mk}.focus_area"),
                        format!(
                            "unknown focus area «{}» (the plan's: {})",
                            m.focus_area,
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    );
                }
                measures.push(Measure {
                    key: m.key.clone(),
                    focus_area: m.focus_area.clone(),
                    name: m.name.clone(),
                    description: m.description.clone(),
                });
            }
            let (Some(from), Some(to)) = (from, to) else { continue };
            if to < from {
                self.err(&format!("{k}.to"), format!("{to} is before from ({from})"));
                continue;
            }
            plans.push(ActionPlan {
                key: key.clone(),
                name: p.name.clone(),
                from,
                to,
                focus_areas,
                measures,
            });
        }
        plans.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| a.key.cmp(&b.key)));
        for (i, b) in plans.iter().enumerate() {
            for a in &plans[..i] {
                if b.from <= a.to {
                    self.err(
                        &format!("plan.action_plans.{}.from", b.key),
                        format!(
                            "the period {}–{} overlaps plan «{}» ({}–{}); plan periods must not overlap",
                            b.from, b.to, a.key, a.from, a.to
                        ),
                    );
                }
            }
        }

        Plan {
            plans,
            goal_areas,
            kinds,
            themes,
            groups,
        }
    }

    /// A list of key–name items at `path` (`plan.kinds`, …): keys well-formed and unique, names
    /// not empty.
    fn terms(&mut self, path: &str, items: &[RawTerm]) -> Vec<Term> {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, t) in items.iter().enumerate() {
            let k = format!("{path}[{i}]");
            if !is_key(&t.key) {
                self.err(
                    &format!("{k}.key"),
                    format!("«{}» must be lower-case letters a–z, digits and «-»", t.key),
                );
            } else if let Some(first) = seen.get(t.key.as_str()) {
                self.err(
                    &format!("{k}.key"),
                    format!("«{}» is listed twice (also {path}[{first}])", t.key),
                );
            } else {
                seen.insert(&t.key, i);
            }
            if t.name.trim().is_empty() {
                self.err(&format!("{k}.name"), "must not be empty");
            }
        }
        items
            .iter()
            .map(|t| Term {
                key: t.key.clone(),
                name: t.name.clone(),
            })
            .collect()
    }

    fn date(&mut self, key: &str, s: &str) -> Option<NaiveDate> {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        if d.is_none() {
            self.err(key, format!("«{s}» is not a date like 2026-12-24"));
        }
        d
    }
}

/// A configuration key: lower-case letters a–z, digits and `-`, not empty.
fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..s], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_is_valid_and_complete() {
        let c = load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap();
        let r = &c.rules;
        assert_eq!(
            r.tiers.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            ["owner", "municipal", "partner", "collaborator"]
        );
        assert_eq!(
            r.tiers.iter().map(|t| t.horizon_days).collect::<Vec<_>>(),
            [365, 180, 90, 60]
        );
        assert_eq!(r.protection_window_days, 14);
        let room = r.room("borgertun").unwrap();
        assert_eq!((room.capacity, room.buffer_minutes, room.slot_minutes), (80, 15, 15));
        for key in [
            "beho",
            "bbsm",
            "uib",
            "norce",
            "haraldsplass",
            "vid",
            "vlfk",
            "helse-bergen",
            "fhi",
            "hvl",
            "nav-vestland",
        ] {
            assert!(r.organisation(key).is_some(), "{key}");
        }
        for key in [
            "vis",
            "idrettsklynge-vest",
            "polyfon",
            "kunnskapskommunen",
            "skil",
            "verdighetscenteret",
            "olaviken",
            "norway-health-tech",
        ] {
            assert_eq!(r.organisation(key).unwrap().tier, "collaborator", "{key}");
        }
        assert_eq!(r.organisation("beho").unwrap().tier, "owner");
    }

    #[test]
    fn the_shipped_plan_has_both_action_plans_and_the_vocabulary() {
        let c = load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))).unwrap();
        let p = &c.plan;
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let summary: Vec<_> = p
            .plans
            .iter()
            .map(|a| (a.key.as_str(), a.from, a.to, a.focus_areas.len(), a.measures.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("2022-2023", d(2022, 1, 1), d(2023, 12, 31), 4, 10),
                ("2026-2030", d(2026, 1, 1), d(2030, 12, 31), 5, 16),
            ]
        );
        // The key scheme: {first year}-{focus area}-{n}, n counting within the focus area.
        for a in &p.plans {
            let year = &a.key[..4];
            for f in &a.focus_areas {
                for (n, m) in a.measures_in(&f.key).enumerate() {
                    assert_eq!(m.key, format!("{year}-{}-{}", f.key, n + 1));
                    assert!(!m.name.ends_with('.'), "{}", m.key);
                }
            }
        }
        let keys = |t: &[crate::domain::plan::Term]| t.iter().map(|t| t.key.clone()).collect::<Vec<_>>();
        assert_eq!(
            keys(&p.goal_areas),
            ["kunnskapsutvikling", "kunnskapsdeling", "samskaping", "innovasjon"]
        );
        assert_eq!(
            keys(&p.kinds),
            [
                "mote",
                "arbeidsverksted",
                "seminar",
                "konferanse",
                "kurs",
                "nettverkssamling",
                "annet"
            ]
        );
        assert_eq!(
            keys(&p.groups),
            [
                "forskere",
                "ansatte",
                "studenter",
                "brukere-parorende",
                "naeringsliv",
                "andre"
            ]
        );
        for theme in [
            "brukermedvirkning",
            "parorendeinvolvering",
            "kunnskapsbehov",
            "forbedringsarbeid",
        ] {
            assert!(keys(&p.themes).iter().any(|t| t == theme), "{theme}");
        }
        assert_eq!(p.plan_in_force(d(2026, 3, 2)).unwrap().key, "2026-2030");
        assert!(p.plan_in_force(d(2025, 6, 1)).is_none());
        let (a, m) = p.measure("2026-forskning-1").unwrap();
        assert_eq!(
            a.focus_area(&m.focus_area).unwrap().name,
            "Forskning som er nyttig og nyttiggjort"
        );
        assert!(m.name.contains("Borgertun"));
    }

    #[test]
    fn plan_problems_are_reported_with_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config")).unwrap() {
            let path = entry.unwrap().path();
            let mut text = std::fs::read_to_string(&path).unwrap();
            if path.ends_with("plan.toml") {
                text = text
                    .replace("from = \"2026-01-01\"", "from = \"2023-07-01\"")
                    .replacen("focus_area = \"utdanning\"", "focus_area = \"utdaning\"", 1)
                    .replace("key = \"2026-utdanning-4\"", "key = \"2026-utdanning-3\"")
                    .replace(
                        "{ key = \"annet\", name = \"Annet\" }",
                        "{ key = \"mote\", name = \"\" }",
                    )
                    .replace("to = \"2023-12-31\"", "to = \"2023-12-31\"\nfocus = 1");
            }
            std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
        }
        // An unknown key stops at deserialising: alone, it is the one problem reported.
        let errors = load(dir.path()).unwrap_err().0;
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains("plan.toml") && errors[0].contains("focus"),
            "{errors:#?}"
        );

        let plan = dir.path().join("plan.toml");
        let text = std::fs::read_to_string(&plan).unwrap().replace("\nfocus = 1", "");
        std::fs::write(&plan, text).unwrap();
        let errors = load(dir.path()).unwrap_err().0;
        for key in [
            "plan.kinds[6].key",
            "plan.kinds[6].name",
            "plan.action_plans.2022-2023.measures[3].focus_area",
            "plan.action_plans.2026-2030.measures[7].key",
            "plan.action_plans.2026-2030.from",
        ] {
            assert!(
                errors
                    .iter()
                    .any(|e| e.contains("plan.toml: ") && e.contains(&format!(": {key}: "))),
                "no line names plan.toml and {key}: {errors:#?}"
            );
        }
        assert_eq!(errors.len(), 5, "{errors:#?}");
    }

    #[test]
    fn trusted_proxies_are_networks_checked_at_start() {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        let server = dir.path().join("server.toml");
        let text = std::fs::read_to_string(&server).unwrap();
        let with = |value: &str| {
            std::fs::write(
                &server,
                text.replace("trusted_proxies = []", &format!("trusted_proxies = {value}")),
            )
            .unwrap();
            load(dir.path())
        };
        let c = with(r#"["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"]"#).unwrap();
        let nets: Vec<String> = c.server.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        let errors = with(r#"["10.0.0.0/88"]"#).unwrap_err().0;
        assert!(
            errors.len() == 1
                && errors[0].contains("server.toml")
                && errors[0].contains("server.trusted_proxies")
                && errors[0].contains("«10.0.0.0/88» is not an IP address or a CIDR range"),
            "{errors:#?}"
        );
    }
}
