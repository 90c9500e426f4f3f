#!/usr/bin/env python3
"""check_ics.py: validate iCalendar files with the PyPI `icalendar` package and
print what they contain as JSON, for use as a subprocess by integration tests.

Install (from the repository root; target/ is git-ignored):
    python3 -m venv target/ci-venv
    target/ci-venv/bin/pip install icalendar aiosmtpd

Usage:
    target/ci-venv/bin/python tests/validators/check_ics.py FILE...

stdout: always one JSON list with one object per FILE, in argument order:
    {"file", "ok", "errors", "method", "calname", "timezone", "events": [
        {"uid", "sequence", "status", "summary", "description", "location",
         "organizer", "attendees", "dtstart_local", "dtend_local",
         "dtstart_tzid", "dtstamp"}]}
stderr: one line "FILE: message" per problem.
Exit status: 0 if every file passed, 1 if any check failed, 2 on usage error.

Checks (any failure fails the file):
  * raw octets: every line ends with CRLF (including the last one), there is
    no bare CR or LF, and no line is longer than 75 octets excluding CRLF
    (RFC 5545 3.1); the file is valid UTF-8, so a fold that splits a
    multi-octet character is reported too;
  * icalendar.Calendar.from_ical() parses it into exactly one VCALENDAR,
    with no parse errors recorded on any component (icalendar is lenient: a
    value it cannot parse, e.g. a bad DATE-TIME or parameter, is kept as
    vBroken and listed in component.errors, and those are failures here);
  * Calendar.validate(): PRODID, VERSION and at least one component present;
  * every TZID= parameter names a VTIMEZONE in the file, and for DTSTART and
    DTEND that VTIMEZONE gives the same UTC offset as the tz database does
    for that TZID (a mis-built VTIMEZONE would shift the event in clients;
    not compared for a wall time skipped or repeated by a DST change);
  * DTSTAMP is present and in UTC (RFC 5545 3.8.7.2).

Event fields: text values are unescaped strings, or null when absent;
"organizer"/"attendees" are the calendar addresses as written
("mailto:..."); "sequence" is an int or null; "dtstart_local"/"dtend_local"
are "YYYY-MM-DDTHH:MM" in Europe/Oslo ("YYYY-MM-DD" for DATE values; dtend is
computed from DURATION when there is no DTEND, null when neither is there);
"dtstart_tzid" is the TZID parameter, "UTC" for a UTC ("Z") time, "DATE" for
a DATE value, "FLOATING" for a local time without TZID; "dtstamp" is
"YYYY-MM-DDTHH:MM:SSZ".
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

try:
    import icalendar
except ImportError:  # pragma: no cover - environment problem
    sys.stderr.write(
        "check_ics.py: the 'icalendar' package is missing; run: "
        "python3 -m venv target/ci-venv && target/ci-venv/bin/pip install icalendar aiosmtpd\n"
    )
    sys.exit(2)

OSLO = ZoneInfo("Europe/Oslo")
MAX_OCTETS = 75
MAX_REPORTED_LINES = 10  # per kind of line problem, to keep stderr readable


def check_raw(data: bytes) -> list[str]:
    """Line-level checks on the raw octets (RFC 5545 3.1)."""
    errors: list[str] = []
    if not data:
        return ["file is empty"]
    if not data.endswith(b"\r\n"):
        errors.append("file does not end with CRLF")
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    bare, long_ = [], []
    for no, line in enumerate(lines, start=1):
        if b"\r" in line or b"\n" in line:
            bare.append(no)
        if len(line) > MAX_OCTETS:
            long_.append((no, len(line)))
    for no in bare[:MAX_REPORTED_LINES]:
        errors.append(f"line {no}: bare CR or LF (lines must end with CRLF)")
    if len(bare) > MAX_REPORTED_LINES:
        errors.append(f"... and {len(bare) - MAX_REPORTED_LINES} more lines with bare CR or LF")
    for no, n in long_[:MAX_REPORTED_LINES]:
        errors.append(f"line {no}: {n} octets, more than {MAX_OCTETS} (excluding CRLF); fold it")
    if len(long_) > MAX_REPORTED_LINES:
        errors.append(f"... and {len(long_) - MAX_REPORTED_LINES} more lines over {MAX_OCTETS} octets")
    try:
        data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        errors.append(
            f"not valid UTF-8 at octet {e.start} ({e.reason}); "
            "a fold may split a multi-octet character"
        )
    return errors


def text(component, name: str) -> str | None:
    value = component.get(name)
    if value is None:
        return None
    if isinstance(value, list):  # repeated property: take the first
        value = value[0]
    return str(value)


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def dt_of(prop):
    """The date/datetime of a property, or None if it is missing or broken.

    icalendar keeps a value it could not parse as vBroken, whose attribute
    access raises (not AttributeError); that case is already reported from
    component.errors.
    """
    if prop is None or isinstance(prop, list):
        return None
    try:
        return prop.dt
    except Exception:
        return None


def tzid_of(prop) -> str:
    tzid = prop.params.get("TZID")
    if tzid:
        return str(tzid)
    value = prop.dt
    if not isinstance(value, dt.datetime):
        return "DATE"
    if value.tzinfo is None:
        return "FLOATING"
    return "UTC"


def in_dst_transition(value: dt.datetime) -> bool:
    """True for a wall time that is skipped or repeated by a DST change in its
    tzinfo; libraries legitimately disagree on the offset there, so the
    VTIMEZONE-vs-tz-database comparison is skipped for it."""
    a, b = value.replace(fold=0), value.replace(fold=1)
    if a.utcoffset() != b.utcoffset():
        return True
    back = a.astimezone(dt.timezone.utc).astimezone(a.tzinfo)
    return back.replace(tzinfo=None) != a.replace(tzinfo=None)


def add_duration(start, dur: dt.timedelta):
    """DTSTART + DURATION per RFC 5545 3.3.6: whole days are nominal (wall
    clock), hours/minutes/seconds are exact (across a DST change)."""
    if isinstance(start, dt.datetime) and start.tzinfo is not None and (dur.seconds or dur.microseconds):
        utc = start.astimezone(dt.timezone.utc) + dur
        return utc.astimezone(start.tzinfo)
    return start + dur


def local(value) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(OSLO)
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.isoformat()  # DATE


def check_file(path: str) -> dict:
    result: dict = {
        "file": path,
        "ok": False,
        "errors": [],
        "method": None,
        "calname": None,
        "timezone": None,
        "events": [],
    }
    errors: list[str] = result["errors"]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        errors.append(f"cannot read: {e.strerror or e}")
        return result

    errors.extend(check_raw(data))
    if data == b"":
        return result

    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as e:  # icalendar raises ValueError and others
        errors.append(f"does not parse with icalendar: {type(e).__name__}: {e}")
        return result
    if getattr(cal, "name", None) != "VCALENDAR":
        errors.append(f"top-level component is {getattr(cal, 'name', '?')}, not VCALENDAR")
        return result

    for comp in cal.walk():
        for prop, msg in getattr(comp, "errors", []) or []:
            where = f"{comp.name} {prop}" if prop else comp.name
            errors.append(f"parse error in {where}: {msg}")
    try:
        cal.validate()
    except Exception as e:
        errors.append(f"Calendar.validate(): {e}")

    result["method"] = text(cal, "METHOD")
    result["calname"] = text(cal, "X-WR-CALNAME")
    result["timezone"] = text(cal, "X-WR-TIMEZONE")

    # Timezones defined in the file, built from the VTIMEZONE itself (not tzdata).
    vtimezones: dict[str, object] = {}
    for vtz in cal.walk("VTIMEZONE"):
        tzid = text(vtz, "TZID")
        if tzid is None:
            continue
        try:
            vtimezones[tzid] = vtz.to_tz(lookup_tzid=False)
        except Exception as e:
            errors.append(f"VTIMEZONE {tzid} cannot be interpreted: {type(e).__name__}: {e}")
            vtimezones[tzid] = None
    for tzid in sorted(cal.get_missing_tzids()):
        errors.append(f"TZID={tzid} is used but the file has no VTIMEZONE with that TZID")

    for ev in cal.walk("VEVENT"):
        uid = text(ev, "UID")
        label = f"VEVENT {uid}" if uid else "VEVENT (no UID)"
        out = {
            "uid": uid,
            "sequence": None,
            "status": text(ev, "STATUS"),
            "summary": text(ev, "SUMMARY"),
            "description": text(ev, "DESCRIPTION"),
            "location": text(ev, "LOCATION"),
            "organizer": text(ev, "ORGANIZER"),
            "attendees": [str(a) for a in as_list(ev.get("ATTENDEE"))],
            "dtstart_local": None,
            "dtend_local": None,
            "dtstart_tzid": None,
            "dtstamp": None,
        }
        seq = ev.get("SEQUENCE")
        if seq is not None:
            try:
                out["sequence"] = int(seq)
            except (TypeError, ValueError):
                errors.append(f"{label}: SEQUENCE {seq!r} is not an integer")

        start = ev.get("DTSTART")
        end = ev.get("DTEND")
        for name, prop in (("DTSTART", start), ("DTEND", end)):
            value = dt_of(prop)
            if value is None:
                continue  # missing, or vBroken (already reported as a parse error)
            tzid = prop.params.get("TZID")
            tz = vtimezones.get(str(tzid)) if tzid else None
            if (
                tz is not None
                and isinstance(value, dt.datetime)
                and value.tzinfo is not None
                and not in_dst_transition(value)
            ):
                wall = value.replace(tzinfo=None)
                want = wall.replace(tzinfo=tz).utcoffset()
                got = value.utcoffset()
                if want != got:
                    errors.append(
                        f"{label}: {name} {wall.isoformat()} TZID={tzid}: the file's VTIMEZONE "
                        f"gives UTC offset {want}, the tz database gives {got}"
                    )
        start_dt, end_dt = dt_of(start), dt_of(end)
        if start_dt is not None:
            out["dtstart_local"] = local(start_dt)
            out["dtstart_tzid"] = tzid_of(start)
            if end_dt is not None:
                out["dtend_local"] = local(end_dt)
            elif end is None:
                dur = dt_of(ev.get("DURATION"))
                if isinstance(dur, dt.timedelta):
                    out["dtend_local"] = local(add_duration(start_dt, dur))

        stamp = ev.get("DTSTAMP")
        if stamp is None:
            errors.append(f"{label}: no DTSTAMP")
        elif (value := dt_of(stamp)) is not None:
            if (
                not isinstance(value, dt.datetime)
                or value.tzinfo is None
                or value.utcoffset() != dt.timedelta(0)
                or stamp.params.get("TZID")
            ):
                errors.append(f"{label}: DTSTAMP must be a UTC date-time (…Z), got {stamp.to_ical().decode()}")
            else:
                out["dtstamp"] = value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        result["events"].append(out)

    result["ok"] = not errors
    return result


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        sys.stderr.write(f"usage: {argv[0]} FILE...\n")
        return 2
    results = []
    for path in argv[1:]:
        try:
            results.append(check_file(path))
        except Exception as e:  # a validator bug or an icalendar surprise: still a failure
            results.append({"file": path, "ok": False,
                            "errors": [f"internal error: {type(e).__name__}: {e}"],
                            "method": None, "calname": None, "timezone": None, "events": []})
    for r in results:
        for msg in r["errors"]:
            sys.stderr.write(f"{r['file']}: {msg}\n")
    json.dump(results, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
