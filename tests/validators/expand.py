#!/usr/bin/env python3
"""expand.py: expand the recurring events of an iCalendar file with the PyPI
`recurring-ical-events` package (on top of `icalendar`), for the integration
tests, which compare its answer with ical.js's (tests/browser/expand.mjs) and
libical's (`target/ical-check --expand`).

Install (from the repository root; target/ is git-ignored):
    python3 -m venv target/ci-venv
    target/ci-venv/bin/pip install -r tests/validators/requirements.txt

Usage:
    target/ci-venv/bin/python tests/validators/expand.py FILE FROM TO

FROM and TO are UTC times written YYYYMMDDTHHMMSSZ. The window is half-open:
an instance is printed when it overlaps [FROM, TO), that is when it starts
before TO and ends after FROM (an instance without duration: when FROM <=
start < TO).

stdout: one line per instance, sorted, "UID START END" with START and END in
UTC as YYYYMMDDTHHMMSSZ. EXDATE removes an instance; a component with
RECURRENCE-ID replaces the instance it names (at its own, possibly new,
time). An instance is left out when the component that describes it (the
override if it has one, else the master) has STATUS:CANCELLED; nothing at
all is printed for a METHOD:CANCEL document, since every component in it
says what is cancelled (RFC 5546 3.2.5).
stderr: the reason, when the file cannot be expanded.
Exit status: 0 on success, 1 if the file cannot be read, parsed or
expanded (including an all-day or floating time, which has no UTC
meaning, and a TZID without its VTIMEZONE), 2 on usage error or when a
package is missing. tests/validators/README.md says where the three
expanders differ.
"""

from __future__ import annotations

import datetime as dt
import sys

try:
    import icalendar
    import recurring_ical_events
except ImportError as e:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"expand.py: {e.name} is missing; run: python3 -m venv target/ci-venv && "
        "target/ci-venv/bin/pip install -r tests/validators/requirements.txt\n"
    )
    sys.exit(2)

UTC = dt.timezone.utc
FORMAT = "%Y%m%dT%H%M%SZ"


def parse_utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, FORMAT).replace(tzinfo=UTC)


def to_utc(value: object, what: str, uid: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{uid}: {what} is a DATE ({value}), which has no UTC time")
    if value.tzinfo is None:
        raise ValueError(f"{uid}: {what} is a floating time ({value}), which has no UTC time")
    return value.astimezone(UTC)


def refuse_local_times(cal: icalendar.Calendar) -> None:
    """Fail on an all-day or floating time anywhere in a VEVENT: recurring-ical-events would
    give a floating time a zone of its own choosing (another component's), silently."""
    for ev in cal.walk("VEVENT"):
        uid = str(ev.get("UID", ""))
        for name in ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"):
            values = ev.get(name, [])
            for value in values if isinstance(values, list) else [values]:
                # vDDDLists (EXDATE, RDATE) hold several times, the others one.
                for one in getattr(value, "dts", [value]):
                    moment = one.dt[0] if isinstance(one.dt, tuple) else one.dt
                    if not isinstance(moment, dt.timedelta):
                        to_utc(moment, name, uid)


def expand(text: bytes, start: dt.datetime, end: dt.datetime) -> list[str]:
    cal = icalendar.Calendar.from_ical(text)
    refuse_local_times(cal)
    # icalendar reads a known TZID from the tz database whether or not the file has its
    # VTIMEZONE; the other two expanders need the VTIMEZONE, so this one does too.
    missing = sorted(cal.get_missing_tzids())
    if missing:
        raise ValueError(f"TZID {', '.join(missing)} has no VTIMEZONE in the file")
    method = str(cal.get("METHOD", "")).upper()
    # recurring-ical-events returns what overlaps the window; widen it by a day on each
    # side and apply the window exactly below, so its edge rules do not matter.
    day = dt.timedelta(days=1)
    lines = []
    for ev in recurring_ical_events.of(cal).between(start - day, end + day):
        uid = str(ev.get("UID", ""))
        if method == "CANCEL" or str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        s = to_utc(ev["DTSTART"].dt, "DTSTART", uid)
        # recurring-ical-events gives each instance its DTEND, computed from DURATION
        # when needed; DTSTART alone means no duration.
        e = to_utc(ev["DTEND"].dt, "DTEND", uid) if "DTEND" in ev else s
        inside = (s < end and e > start) if e > s else (start <= s < end)
        if inside:
            lines.append(f"{uid} {s.strftime(FORMAT)} {e.strftime(FORMAT)}")
    return sorted(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        sys.stderr.write("usage: expand.py FILE FROM TO (FROM and TO as YYYYMMDDTHHMMSSZ)\n")
        return 2
    try:
        start, end = parse_utc(argv[2]), parse_utc(argv[3])
    except ValueError as e:
        sys.stderr.write(f"expand.py: bad window: {e}\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            text = f.read()
        lines = expand(text, start, end)
    except Exception as e:  # noqa: BLE001 - every failure is reported the same way
        sys.stderr.write(f"{argv[1]}: {type(e).__name__}: {e}\n")
        return 1
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
