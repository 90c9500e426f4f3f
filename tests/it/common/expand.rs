//! Recurring events expanded by three libraries that share no code: Python's
//! `recurring-ical-events` (`tests/validators/expand.py`), Mozilla's ical.js
//! (`tests/browser/expand.mjs`) and libical (`target/ical-check --expand`). A calendar the service
//! emits should give the same instances in all three: EXDATE removes one, an override with
//! RECURRENCE-ID replaces the one it names, and cancelled ones (STATUS:CANCELLED, or every
//! component of a METHOD:CANCEL) are left out. `tests/validators/README.md` describes the
//! expanders and where the libraries differ.
//!
//! A missing tool is an `Err` with how to install it, for [`super::require`]; a tool that runs
//! but cannot expand the file panics with its complaint, since that is the file's fault.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chrono::{DateTime, NaiveDateTime, Utc};

use super::tools;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The expanders' time format: UTC, `YYYYMMDDTHHMMSSZ`.
const FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// One instance: the event's UID, its start and its end.
pub type Instance = (String, DateTime<Utc>, DateTime<Utc>);

/// The instances each library found in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansions {
    pub recurring_ical_events: BTreeSet<Instance>,
    pub ical_js: BTreeSet<Instance>,
    pub libical: BTreeSet<Instance>,
}

impl Expansions {
    /// Each library's name and answer.
    pub fn by_library(&self) -> [(&'static str, &BTreeSet<Instance>); 3] {
        [
            ("Python recurring-ical-events", &self.recurring_ical_events),
            ("Mozilla ical.js", &self.ical_js),
            ("libical", &self.libical),
        ]
    }
}

/// The three expanders, found.
pub struct Expanders {
    python: PathBuf,
    ical_check: PathBuf,
}

impl Expanders {
    /// All three expanders, or every one that is missing and how to install it.
    pub fn find() -> Result<Self, String> {
        let requirements = "target/ci-venv/bin/pip install -r tests/validators/requirements.txt";
        let python =
            tools::python().map_err(|e| format!("{e}; expand.py needs recurring-ical-events too: `{requirements}`"));
        let python = python.and_then(|python| {
            let ok = Command::new(&python)
                .args(["-c", "import recurring_ical_events"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                Ok(python)
            } else {
                Err(format!(
                    "{} cannot import recurring_ical_events: run `{requirements}` (as scripts/test does)",
                    python.display()
                ))
            }
        });
        let node = node_with_ical_js();
        let ical_check = tools::ical_check().and_then(|path| {
            let built = std::fs::metadata(&path).and_then(|m| m.modified());
            let source =
                std::fs::metadata(Path::new(ROOT).join("tests/validators/ical_check.c")).and_then(|m| m.modified());
            match (built, source) {
                (Ok(built), Ok(source)) if built < source => Err(
                    "target/ical-check is older than tests/validators/ical_check.c (it may lack --expand): rebuild \
                     it with `gcc -O2 -o target/ical-check tests/validators/ical_check.c $(pkg-config --cflags \
                     --libs libical)` (as scripts/test does)"
                        .to_string(),
                ),
                _ => Ok(path),
            }
        });
        match (python, node, ical_check) {
            (Ok(python), Ok(()), Ok(ical_check)) => Ok(Self { python, ical_check }),
            (python, node, ical_check) => Err([python.err(), node.err(), ical_check.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }

    /// The instances of `ics` that overlap `[from, to)`, as each library expands them. Panics if
    /// a library cannot expand the file.
    pub fn expand(&self, ics: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Expansions {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calendar.ics");
        std::fs::write(&file, ics).unwrap();
        let window = [from.format(FORMAT).to_string(), to.format(FORMAT).to_string()];
        let mut python = Command::new(&self.python);
        python.arg(Path::new(ROOT).join("tests/validators/expand.py"));
        let mut node = Command::new("node");
        node.arg(Path::new(ROOT).join("tests/browser/expand.mjs"));
        let mut libical = Command::new(&self.ical_check);
        libical.arg("--expand");
        // All three at once; each reads the same file.
        let [python, node, libical] = [python, node, libical].map(|mut command| {
            command
                .arg(&file)
                .args(&window)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start an expander")
        });
        let [recurring_ical_events, ical_js, libical] = [
            ("Python recurring-ical-events (tests/validators/expand.py)", python),
            ("Mozilla ical.js (tests/browser/expand.mjs)", node),
            ("libical (target/ical-check --expand)", libical),
        ]
        .map(|(name, child)| parse_output(name, child.wait_with_output().unwrap(), ics));
        Expansions {
            recurring_ical_events,
            ical_js,
            libical,
        }
    }

    /// Panic, naming each library that disagrees and how, unless all three expand `ics` in
    /// `[from, to)` to exactly the `expected` (start, end) pairs, the instances of every UID in
    /// the file together.
    pub fn assert_expands_to(
        &self,
        ics: &str,
        expected: &BTreeSet<(DateTime<Utc>, DateTime<Utc>)>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) {
        let expansions = self.expand(ics, from, to);
        let mut report = Vec::new();
        for (library, instances) in expansions.by_library() {
            let times: BTreeSet<_> = instances.iter().map(|(_, s, e)| (*s, *e)).collect();
            if times == *expected {
                continue;
            }
            let missing: Vec<_> = expected.difference(&times).map(|(s, e)| span(*s, *e)).collect();
            let extra: Vec<_> = instances
                .iter()
                .filter(|(_, s, e)| !expected.contains(&(*s, *e)))
                .map(|(uid, s, e)| format!("{uid} {}", span(*s, *e)))
                .collect();
            report.push(format!(
                "{library} disagrees:\n    missing:    {}\n    unexpected: {}",
                list(&missing),
                list(&extra)
            ));
        }
        if report.is_empty() {
            return;
        }
        let agree = expansions.recurring_ical_events == expansions.ical_js && expansions.ical_js == expansions.libical;
        panic!(
            "the expansion of the calendar in [{}, {}) is not the expected one{}\n  {}\nexpected:\n    {}\n\
             calendar:\n{ics}",
            from.format(FORMAT),
            to.format(FORMAT),
            if agree {
                " (the three libraries agree with each other, so look at the calendar or the expectation)"
            } else {
                ""
            },
            report.join("\n  "),
            list(&expected.iter().map(|(s, e)| span(*s, *e)).collect::<Vec<_>>()),
        );
    }
}

/// The instances of `ics` in `[from, to)` as Python's recurring-ical-events, ical.js and libical
/// expand them; `Err` with what to install when an expander is missing.
pub fn expansions(ics: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Expansions, String> {
    Ok(Expanders::find()?.expand(ics, from, to))
}

/// Assert that all three libraries expand `ics` in `[from, to)` to the `expected` (start, end)
/// pairs; see [`Expanders::assert_expands_to`]. With an expander missing, the test is recorded
/// as skipped through [`super::require`] (it fails under CI) and nothing is checked.
pub fn assert_expands_to(
    ics: &str,
    expected: &BTreeSet<(DateTime<Utc>, DateTime<Utc>)>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) {
    if let Some(expanders) = super::require(Expanders::find()) {
        expanders.assert_expands_to(ics, expected, from, to);
    }
}

/// node on the PATH with ical.js installed in `tests/browser/node_modules`.
fn node_with_ical_js() -> Result<(), String> {
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ical_js = Path::new(ROOT)
        .join("tests/browser/node_modules/ical.js/package.json")
        .exists();
    match (node, ical_js) {
        (true, true) => Ok(()),
        (false, _) => Err("node 20 or newer (with npm) on the PATH, for ical.js".to_string()),
        (true, false) => Err(
            "ical.js in tests/browser/node_modules: `(cd tests/browser && npm ci)` (as scripts/test does)".to_string(),
        ),
    }
}

fn parse_output(library: &str, out: Output, ics: &str) -> BTreeSet<Instance> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{library} cannot expand the calendar ({}): {}\n{ics}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let [uid, start, end] = fields[..] else {
                panic!("{library} printed {line:?}, not «UID START END»");
            };
            (uid.to_string(), utc(library, start), utc(library, end))
        })
        .collect()
}

fn utc(library: &str, text: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(text, FORMAT)
        .unwrap_or_else(|e| panic!("{library} printed the time {text:?}: {e}"))
        .and_utc()
}

fn span(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    format!("{} {}", start.format(FORMAT), end.format(FORMAT))
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

/// Every third Wednesday at 09:00 in Oslo, ten times from 7 October 2026, across the end of
/// summer time (25 October 2026) and its start (28 March 2027); an EXDATE in Oslo time and one in
/// UTC; the 9 December instance moved to 13:00; and a one-off event.
const SAMPLE: &str = "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Borgertun//expand self-test//NO\r
METHOD:PUBLISH\r
BEGIN:VTIMEZONE\r
TZID:Europe/Oslo\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
TZNAME:CEST\r
DTSTART:19700329T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
TZNAME:CET\r
DTSTART:19701025T030000\r
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r
END:STANDARD\r
END:VTIMEZONE\r
BEGIN:VEVENT\r
UID:weekly@borgertun.test\r
DTSTAMP:20260901T120000Z\r
DTSTART;TZID=Europe/Oslo:20261007T090000\r
DTEND;TZID=Europe/Oslo:20261007T103000\r
RRULE:FREQ=WEEKLY;INTERVAL=3;COUNT=10\r
EXDATE;TZID=Europe/Oslo:20261118T090000\r
EXDATE:20270210T080000Z\r
SUMMARY:Fagmøte\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:weekly@borgertun.test\r
DTSTAMP:20260901T120000Z\r
RECURRENCE-ID;TZID=Europe/Oslo:20261209T090000\r
DTSTART;TZID=Europe/Oslo:20261209T130000\r
DTEND;TZID=Europe/Oslo:20261209T143000\r
SUMMARY:Fagmøte (flyttet)\r
SEQUENCE:1\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:single@borgertun.test\r
DTSTAMP:20260901T120000Z\r
DTSTART:20261104T110000Z\r
DTEND:20261104T120000Z\r
SUMMARY:Enkeltmøte\r
END:VEVENT\r
END:VCALENDAR\r
";

#[test]
fn expanders_agree_on_a_sample() {
    let t = |text: &str| utc("the test", text);
    let (from, to) = (t("20260101T000000Z"), t("20280101T000000Z"));
    // 09:00 in Oslo is 07:00Z in summer time (CEST, UTC+2) and 08:00Z in winter (CET, UTC+1).
    let expected: BTreeSet<_> = [
        ("20261007T070000Z", "20261007T083000Z"),
        ("20261028T080000Z", "20261028T093000Z"),
        ("20261104T110000Z", "20261104T120000Z"), // the one-off event
        // 18 November: EXDATE in Oslo time.
        ("20261209T120000Z", "20261209T133000Z"), // moved to 13:00
        ("20261230T080000Z", "20261230T093000Z"),
        ("20270120T080000Z", "20270120T093000Z"),
        // 10 February: EXDATE in UTC.
        ("20270303T080000Z", "20270303T093000Z"),
        ("20270324T080000Z", "20270324T093000Z"),
        ("20270414T070000Z", "20270414T083000Z"),
    ]
    .into_iter()
    .map(|(s, e)| (t(s), t(e)))
    .collect();
    let Some(expansions) = super::require(expansions(SAMPLE, from, to)) else {
        return;
    };
    assert_eq!(expansions.ical_js, expansions.recurring_ical_events);
    assert_eq!(expansions.libical, expansions.recurring_ical_events);
    assert_expands_to(SAMPLE, &expected, from, to);

    // The moved instance cancelled on its own: it goes, the others stay.
    let one_cancelled = SAMPLE.replace("SEQUENCE:1\r\n", "SEQUENCE:1\r\nSTATUS:CANCELLED\r\n");
    let mut rest = expected.clone();
    rest.remove(&(t("20261209T120000Z"), t("20261209T133000Z")));
    assert_expands_to(&one_cancelled, &rest, from, to);
    // A cancellation of the series expands to nothing.
    let cancel = SAMPLE
        .replace("METHOD:PUBLISH", "METHOD:CANCEL")
        .replace("SUMMARY:Fagmøte\r\n", "SUMMARY:Fagmøte\r\nSTATUS:CANCELLED\r\n");
    assert_expands_to(&cancel, &BTreeSet::new(), from, to);
    // So does a window with no instance in it; and the window's end is exclusive.
    assert_expands_to(SAMPLE, &BTreeSet::new(), t("20261007T083000Z"), t("20261028T080000Z"));
}
