// Expand the recurring events of an iCalendar file with Mozilla's ical.js (Thunderbird's
// parser), for the integration tests, which compare its answer with recurring-ical-events'
// (tests/validators/expand.py) and libical's (`target/ical-check --expand`).
//
// Usage: node tests/browser/expand.mjs FILE FROM TO
//
// FROM and TO are UTC times written YYYYMMDDTHHMMSSZ; an instance is printed when it overlaps
// the half-open window [FROM, TO) (an instance without duration: when FROM <= start < TO).
// stdout: one line per instance, sorted, "UID START END" in UTC as YYYYMMDDTHHMMSSZ. EXDATE
// removes an instance; a VEVENT with RECURRENCE-ID replaces the instance it names. An instance
// is left out when the component that describes it (the override, else the master) has
// STATUS:CANCELLED, and a METHOD:CANCEL document prints nothing (every component in it says
// what is cancelled, RFC 5546 3.2.5). The file's VTIMEZONEs are registered before any time is
// read, so TZID times use the file's own rules, not a built-in database.
// Exit status: 0 on success, 1 if the file cannot be read, parsed or expanded (an all-day or
// floating time has no UTC meaning), 2 on usage error.
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const DAY = 86400;
// Instances of one series at most: a rule without COUNT or UNTIL stops at the window anyway.
const MAX_INSTANCES = 100000;

function usage(message) {
  process.stderr.write(`${message}\nusage: node expand.mjs FILE FROM TO (FROM and TO as YYYYMMDDTHHMMSSZ)\n`);
  process.exit(2);
}

/// Seconds since the epoch of a `YYYYMMDDTHHMMSSZ` text.
function parseUtc(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) usage(`bad window time ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

function formatUtc(seconds) {
  return new Date(seconds * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/// The UTC seconds of an ICAL.Time, refusing the times that have no UTC meaning.
function utcSeconds(time, what, uid) {
  if (time.isDate) throw new Error(`${uid}: ${what} is a DATE (${time}), which has no UTC time`);
  // ical.js gives a floating time, and a TZID it has no VTIMEZONE for, the "floating" zone.
  if (!time.zone || time.zone === ICAL.Timezone.localTimezone) {
    throw new Error(
      time.timezone
        ? `${uid}: ${what} has TZID=${time.timezone}, and the file has no VTIMEZONE for it`
        : `${uid}: ${what} is a floating time (${time}), which has no UTC time`,
    );
  }
  return time.toUnixTime();
}

function cancelled(component) {
  return String(component.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED';
}

function expand(text, from, to) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  // Before any time is read: ical.js looks a TZID up when it first reads the value.
  for (const vtimezone of calendar.getAllSubcomponents('vtimezone')) {
    ICAL.TimezoneService.register(vtimezone);
  }
  const method = String(calendar.getFirstPropertyValue('method') ?? '').toUpperCase();
  const lines = [];
  const emit = (component, uid, start, end) => {
    if (method === 'CANCEL' || cancelled(component)) return;
    const s = utcSeconds(start, 'DTSTART', uid);
    const e = end ? utcSeconds(end, 'DTEND', uid) : s;
    const inside = e > s ? s < to && e > from : from <= s && s < to;
    if (inside) lines.push(`${uid} ${formatUtc(s)} ${formatUtc(e)}`);
  };

  // Each UID's master and overrides, in file order.
  const series = new Map();
  for (const vevent of calendar.getAllSubcomponents('vevent')) {
    const uid = String(vevent.getFirstPropertyValue('uid') ?? '');
    if (!series.has(uid)) series.set(uid, { master: null, overrides: [] });
    const entry = series.get(uid);
    // Every time must have a UTC meaning, as in the other two expanders.
    for (const name of ['dtstart', 'dtend', 'recurrence-id', 'exdate', 'rdate']) {
      for (const property of vevent.getAllProperties(name)) {
        for (const value of property.getValues()) {
          utcSeconds(value instanceof ICAL.Period ? value.start : value, name.toUpperCase(), uid);
        }
      }
    }
    if (vevent.hasProperty('recurrence-id')) entry.overrides.push(vevent);
    else if (entry.master) throw new Error(`${uid}: two VEVENTs without RECURRENCE-ID`);
    else entry.master = vevent;
  }

  for (const [uid, { master, overrides }] of series) {
    if (!master) {
      // Overrides without their series (as in an update of one instance): each stands alone.
      for (const vevent of overrides) {
        const event = new ICAL.Event(vevent, { exceptions: [] });
        emit(vevent, uid, event.startDate, event.endDate);
      }
      continue;
    }
    const event = new ICAL.Event(master, { exceptions: overrides, strictExceptions: true });
    if (!event.isRecurring()) {
      emit(master, uid, event.startDate, event.endDate);
      continue;
    }
    // Walk the instances by their original start up to the window's end, or further to the
    // last override's RECURRENCE-ID, so an instance moved into the window is seen too.
    let until = to + DAY;
    for (const o of overrides) {
      until = Math.max(until, utcSeconds(new ICAL.Event(o).recurrenceId, 'RECURRENCE-ID', uid) + DAY);
    }
    const iterator = event.iterator();
    for (let n = 0; ; n++) {
      if (n >= MAX_INSTANCES) throw new Error(`${uid}: more than ${MAX_INSTANCES} instances`);
      const next = iterator.next();
      if (!next || utcSeconds(next, 'instance', uid) >= until) break;
      const details = event.getOccurrenceDetails(next);
      emit(details.item.component, uid, details.startDate, details.endDate);
    }
  }
  return lines.sort();
}

const [file, fromText, toText, ...rest] = process.argv.slice(2);
if (!toText || rest.length) usage('expand.mjs needs exactly FILE FROM TO');
const from = parseUtc(fromText);
const to = parseUtc(toText);
let lines;
try {
  lines = expand(readFileSync(file, 'utf8'), from, to);
} catch (e) {
  process.stderr.write(`${file}: ${e.message}\n`);
  process.exit(1);
}
process.stdout.write(lines.map((l) => `${l}\n`).join(''));
