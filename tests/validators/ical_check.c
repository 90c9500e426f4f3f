/*
 * ical-check: validate iCalendar files with libical (third-party reference
 * implementation), for use as a subprocess by the integration tests.
 *
 * Build (from the repository root; needs Debian's libical-dev):
 *   gcc -O2 -o target/ical-check tests/validators/ical_check.c $(pkg-config --cflags --libs libical)
 * Fallback if pkg-config does not know libical:
 *   gcc -O2 -o target/ical-check tests/validators/ical_check.c -lical
 *
 * Usage: ical-check FILE...
 *        ical-check --expand FILE FROM TO
 *
 * For each FILE:
 *   - parse it with icalparser_parse_string(); fail if it does not parse or
 *     contains no VCALENDAR component;
 *   - for each VCALENDAR, run icalrestriction_check() (libical's RFC 5546
 *     iTIP restriction tables, selected by the calendar's METHOD);
 *   - walk the whole component tree and report every X-LIC-ERROR property
 *     (these are added both by the parser and by the restriction check);
 *   - report every TZID= parameter that does not name a VTIMEZONE present in
 *     the same VCALENDAR (RFC 5545 3.2.19; libical itself does not flag it,
 *     but cannot interpret such times without it).
 * Problems go to stderr as "FILE: message"; a passing file prints
 * "FILE: ok (METHOD=..., N events)" to stdout. Exit status 1 if any file
 * failed, 2 on usage error, 0 otherwise.
 *
 * With --expand, the file is not checked but its VEVENTs are expanded:
 * FROM and TO are UTC times written YYYYMMDDTHHMMSSZ, and one line
 * "UID START END" (UTC, YYYYMMDDTHHMMSSZ) is printed, sorted, per instance
 * that overlaps the half-open window [FROM, TO) (an instance without
 * duration: FROM <= start < TO). The instances of a series come from
 * icalcomponent_foreach_recurrence() (DTSTART and RRULE, minus EXDATE), and
 * its RDATEs are added here (libical 3.0 reads an RDATE's TZID as UTC); a
 * VEVENT with RECURRENCE-ID replaces the instance that starts at that time,
 * and one whose RECURRENCE-ID names no instance is ignored. An instance is
 * left out when the component that describes it (the override, else the
 * master) has STATUS:CANCELLED, and a METHOD:CANCEL document prints nothing
 * (every component in it says what is cancelled, RFC 5546 3.2.5). A DATE or
 * floating time, or a TZID without its VTIMEZONE in the file, fails the file
 * (exit 1), since it has no UTC meaning here.
 *
 * See tests/validators/README.md for what libical's restriction check does
 * and does not flag.
 */
#include <libical/ical.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int report(const char *file, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", file);
    fprintf(stderr, fmt, a ? a : "", b ? b : "");
    fputc('\n', stderr);
    return 1;
}

/* Read a whole file into a NUL-terminated buffer. Returns NULL on error. */
static char *slurp(const char *file, size_t *len_out)
{
    FILE *f = fopen(file, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0;

    if (!f)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = realloc(buf, ncap + 1);
            if (!nbuf) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                errno = e ? e : EIO;
                return NULL;
            }
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* Report every X-LIC-ERROR in comp and its descendants; returns the count.
 * libical 3.0 attaches the same STATUS restriction error once per row of its
 * restriction table (24 identical copies), so each distinct text is reported
 * once per component. */
static int walk_errors(const char *file, icalcomponent *comp)
{
    int n = 0, nseen = 0, cap = 0;
    const char **seen = NULL;
    const char *kind = icalcomponent_kind_to_string(icalcomponent_isa(comp));
    icalproperty *p;
    icalcomponent *c;

    for (p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        icalparameter *t = icalproperty_get_first_parameter(p, ICAL_XLICERRORTYPE_PARAMETER);
        const char *type = t ? icalparameter_enum_to_string(icalparameter_get_xlicerrortype(t))
                             : NULL;
        const char *msg = icalproperty_get_xlicerror(p);
        char where[256];
        int dup = 0;

        if (!msg)
            msg = "(no message)";
        n++; /* every X-LIC-ERROR counts as a failure, duplicates included */
        for (int i = 0; i < nseen; i++)
            if (strcmp(seen[i], msg) == 0)
                dup = 1;
        if (dup)
            continue;
        if (nseen == cap) {
            const char **ns = realloc(seen, (cap ? cap * 2 : 8) * sizeof *seen);
            if (ns) {
                seen = ns;
                cap = cap ? cap * 2 : 8;
            }
        }
        if (nseen < cap)
            seen[nseen++] = msg;
        snprintf(where, sizeof where, "%s%s%s%s", kind ? kind : "?", type ? " (" : "",
                 type ? type : "", type ? ")" : "");
        report(file, "X-LIC-ERROR in %s: %s", where, msg);
    }
    free(seen);
    for (c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        n += walk_errors(file, c);
    return n;
}

/* Report TZID parameters in comp's subtree that name no VTIMEZONE of vcal. */
static int walk_tzids(const char *file, icalcomponent *vcal, icalcomponent *comp)
{
    int n = 0;
    icalproperty *p;
    icalcomponent *c;

    if (icalcomponent_isa(comp) == ICAL_VTIMEZONE_COMPONENT)
        return 0;
    for (p = icalcomponent_get_first_property(comp, ICAL_ANY_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_ANY_PROPERTY)) {
        icalparameter *tz = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
        const char *tzid = tz ? icalparameter_get_tzid(tz) : NULL;

        if (tzid && !icalcomponent_get_timezone(vcal, tzid)) {
            report(file, "%s has TZID=%s but the VCALENDAR has no VTIMEZONE with that TZID",
                   icalproperty_get_property_name(p), tzid);
            n++;
        }
    }
    for (c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT); c;
         c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
        n += walk_tzids(file, vcal, c);
    return n;
}

/* Validate one VCALENDAR; returns the number of problems. */
static int check_vcalendar(const char *file, icalcomponent *vcal, int *events,
                           const char **method)
{
    int problems = 0;
    icalproperty *mp = icalcomponent_get_first_property(vcal, ICAL_METHOD_PROPERTY);
    int valid;

    *method = mp ? icalproperty_get_value_as_string(mp) : "(none)";
    *events += icalcomponent_count_components(vcal, ICAL_VEVENT_COMPONENT);

    /* Adds X-LIC-ERROR (X-LIC-ERRORTYPE=INVALID-ITIP) properties on failure. */
    valid = icalrestriction_check(vcal);
    problems += walk_errors(file, vcal);
    if (!valid && problems == 0)
        problems += report(file, "icalrestriction_check failed without adding X-LIC-ERROR (%s)",
                           icalerror_strerror(icalerrno), NULL);
    problems += walk_tzids(file, vcal, vcal);
    return problems;
}

static int check_file(const char *file)
{
    size_t len = 0;
    char *text = slurp(file, &len);
    icalcomponent *root, *c;
    int problems = 0, calendars = 0, events = 0;
    const char *method = "(none)";
    char method_buf[64];

    if (!text)
        return report(file, "cannot read: %s", strerror(errno), NULL);
    if (strlen(text) != len) {
        free(text);
        return report(file, "contains a NUL byte", NULL, NULL);
    }

    icalerror_clear_errno();
    root = icalparser_parse_string(text);
    free(text);
    if (!root)
        return report(file, "does not parse as iCalendar: %s",
                      icalerrno != ICAL_NO_ERROR
                          ? icalerror_strerror(icalerrno)
                          : "no complete BEGIN:...END: component found (empty, not iCalendar, "
                            "or a component is never closed)",
                      NULL);

    method_buf[0] = '\0';
    if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT) {
        calendars = 1;
        problems += check_vcalendar(file, root, &events, &method);
        snprintf(method_buf, sizeof method_buf, "%s", method);
    } else {
        /* Several top-level components come back wrapped in an XROOT. */
        for (c = icalcomponent_get_first_component(root, ICAL_VCALENDAR_COMPONENT); c;
             c = icalcomponent_get_next_component(root, ICAL_VCALENDAR_COMPONENT)) {
            calendars++;
            problems += check_vcalendar(file, c, &events, &method);
            if (calendars == 1)
                snprintf(method_buf, sizeof method_buf, "%s", method);
        }
        if (calendars == 0) {
            problems += report(file, "no VCALENDAR component (top-level component is %s)",
                               icalcomponent_kind_to_string(icalcomponent_isa(root)), NULL);
            problems += walk_errors(file, root);
        } else if (icalcomponent_isa(root) == ICAL_XROOT_COMPONENT) {
            /* Parser errors attached to stray top-level content. */
            icalproperty *p;
            for (p = icalcomponent_get_first_property(root, ICAL_XLICERROR_PROPERTY); p;
                 p = icalcomponent_get_next_property(root, ICAL_XLICERROR_PROPERTY))
                problems += report(file, "X-LIC-ERROR at top level: %s",
                                   icalproperty_get_xlicerror(p), NULL);
            for (c = icalcomponent_get_first_component(root, ICAL_ANY_COMPONENT); c;
                 c = icalcomponent_get_next_component(root, ICAL_ANY_COMPONENT))
                if (icalcomponent_isa(c) != ICAL_VCALENDAR_COMPONENT)
                    problems += report(file, "stray top-level %s component outside VCALENDAR",
                                       icalcomponent_kind_to_string(icalcomponent_isa(c)), NULL);
        }
    }

    if (problems == 0) {
        printf("%s: ok (METHOD=%s, %d event%s", file, method_buf, events, events == 1 ? "" : "s");
        if (calendars > 1)
            printf(", %d calendars", calendars);
        printf(")\n");
    }
    icalcomponent_free(root);
    return problems;
}

/* --- ical-check --expand FILE FROM TO ------------------------------------------------- */

#define DAY (24 * 60 * 60)
/* Instances of one series at most: a rule without COUNT or UNTIL stops at the window. */
#define MAX_INSTANCES 100000
#define MAX_RDATES 1000

/* The instances of one series, as libical's foreach_recurrence reports them. */
struct spans {
    icaltime_span *v;
    int n, cap, overflow;
};

static void collect_span(icalcomponent *comp, struct icaltime_span *span, void *data)
{
    struct spans *s = data;

    (void)comp;
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 64;
        icaltime_span *nv;

        if (ncap > MAX_INSTANCES || !(nv = realloc(s->v, ncap * sizeof *nv))) {
            s->overflow = 1;
            return;
        }
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = *span;
}

/* The lines printed, sorted at the end. */
struct lines {
    char **v;
    int n, cap;
};

static int add_line(struct lines *l, const char *uid, time_t start, time_t end)
{
    char a[32], b[32], *line;
    struct tm tm;
    size_t len;

    if (l->n == l->cap) {
        int ncap = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, ncap * sizeof *nv);

        if (!nv)
            return 0;
        l->v = nv;
        l->cap = ncap;
    }
    strftime(a, sizeof a, "%Y%m%dT%H%M%SZ", gmtime_r(&start, &tm));
    strftime(b, sizeof b, "%Y%m%dT%H%M%SZ", gmtime_r(&end, &tm));
    len = strlen(uid) + strlen(a) + strlen(b) + 3;
    if (!(line = malloc(len)))
        return 0;
    snprintf(line, len, "%s %s %s", uid, a, b);
    l->v[l->n++] = line;
    return 1;
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A YYYYMMDDTHHMMSSZ window time as seconds since the epoch; 0 if it is not one. */
static int parse_window(const char *text, time_t *out)
{
    struct icaltimetype t;

    if (strlen(text) != 16 || text[8] != 'T' || text[15] != 'Z')
        return 0;
    t = icaltime_from_string(text);
    if (icaltime_is_null_time(t) || !icaltime_is_utc(t))
        return 0;
    *out = icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone());
    return 1;
}

/* Fail (report and return 0) unless t, the value of p in the VEVENT uid, is a DATE-TIME in
 * UTC or with a TZID whose VTIMEZONE vcal has. */
static int has_utc_meaning(const char *file, icalcomponent *vcal, const char *uid,
                           icalproperty *p, struct icaltimetype t)
{
    const char *name = icalproperty_get_property_name(p);
    icalparameter *tz = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    const char *tzid = tz ? icalparameter_get_tzid(tz) : NULL;
    char what[256];

    snprintf(what, sizeof what, "%s: %s", uid, name);
    if (t.is_date)
        return !report(file, "%s is a DATE, which has no UTC time", what, NULL);
    if (tzid && !icalcomponent_get_timezone(vcal, tzid))
        return !report(file, "%s has TZID=%s, and the file has no VTIMEZONE for it", what, tzid);
    if (!tzid && !icaltime_is_utc(t))
        return !report(file, "%s is a floating time, which has no UTC time", what, NULL);
    return 1;
}

/* Check every time in vevent as has_utc_meaning() does; returns the number of problems. */
static int check_times(const char *file, icalcomponent *vcal, icalcomponent *vevent,
                       const char *uid)
{
    static const icalproperty_kind kinds[] = {ICAL_DTSTART_PROPERTY, ICAL_DTEND_PROPERTY,
                                              ICAL_RECURRENCEID_PROPERTY, ICAL_EXDATE_PROPERTY,
                                              ICAL_RDATE_PROPERTY};
    int problems = 0;

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        icalproperty *p;

        for (p = icalcomponent_get_first_property(vevent, kinds[i]); p;
             p = icalcomponent_get_next_property(vevent, kinds[i])) {
            struct icaltimetype t;

            if (kinds[i] == ICAL_RDATE_PROPERTY) {
                struct icaldatetimeperiodtype dp = icalproperty_get_rdate(p);
                if (icaltime_is_null_time(dp.time)) {
                    problems += report(file, "%s: RDATE with a PERIOD value is not supported here",
                                       uid, NULL);
                    continue;
                }
                t = dp.time;
            } else {
                t = icalvalue_get_datetime(icalproperty_get_value(p));
            }
            problems += !has_utc_meaning(file, vcal, uid, p, t);
        }
    }
    if (!icalcomponent_get_first_property(vevent, ICAL_DTSTART_PROPERTY))
        problems += report(file, "%s: VEVENT without DTSTART", uid, NULL);
    return problems;
}

/* The UTC time of t, the value of p in comp: its TZID is looked up among the VTIMEZONEs of
 * the enclosing VCALENDAR (has_utc_meaning() made sure there is one). */
static time_t time_of(icalcomponent *comp, icalproperty *p, struct icaltimetype t)
{
    icalparameter *tz = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    icaltimezone *zone = icaltimezone_get_utc_timezone();

    if (tz) {
        icalcomponent *c;
        for (c = comp; c; c = icalcomponent_get_parent(c)) {
            icaltimezone *z = icalcomponent_get_timezone(c, icalparameter_get_tzid(tz));
            if (z) {
                zone = z;
                break;
            }
        }
    }
    return icaltime_as_timet_with_zone(t, zone);
}

/* The UTC time of a component's DTSTART, DTEND or RECURRENCE-ID. */
static time_t utc_of(icalcomponent *vevent, icalproperty_kind kind)
{
    icalproperty *p = icalcomponent_get_first_property(vevent, kind);

    return time_of(vevent, p, icalvalue_get_datetime(icalproperty_get_value(p)));
}

/* The span of a VEVENT on its own: DTSTART to DTEND, or DTSTART + DURATION, or no time. */
static icaltime_span own_span(icalcomponent *vevent)
{
    icaltime_span span;
    struct icaldurationtype d = icalcomponent_get_duration(vevent);

    span.start = utc_of(vevent, ICAL_DTSTART_PROPERTY);
    if (icalcomponent_get_first_property(vevent, ICAL_DTEND_PROPERTY))
        span.end = utc_of(vevent, ICAL_DTEND_PROPERTY);
    else if (icalcomponent_get_first_property(vevent, ICAL_DURATION_PROPERTY))
        span.end = span.start + icaldurationtype_as_int(d);
    else
        span.end = span.start;
    span.is_busy = 1;
    return span;
}

struct window {
    time_t from, to;
    int cancel; /* METHOD:CANCEL */
};

/* Print (collect) the instance span described by comp, if it is in the window and not
 * cancelled. */
static int emit(struct lines *out, const struct window *w, icalcomponent *comp,
                const char *uid, icaltime_span span)
{
    int inside = span.end > span.start ? span.start < w->to && span.end > w->from
                                       : w->from <= span.start && span.start < w->to;

    if (w->cancel || icalcomponent_get_status(comp) == ICAL_STATUS_CANCELLED || !inside)
        return 1;
    return add_line(out, uid, span.start, span.end);
}

/* Expand the series uid: its master (or NULL) and its overrides (RECURRENCE-ID). */
static int expand_series(const char *file, const struct window *w, struct lines *out,
                         const char *uid, icalcomponent *master, icalcomponent **overrides,
                         int noverrides)
{
    struct spans spans = {NULL, 0, 0, 0};
    time_t lo = w->from - DAY, hi = w->to + DAY;
    icalproperty *rdate, *rdates[MAX_RDATES];
    int nrdates = 0, dropped = 0, problems = 0, ok = 1;

    if (!master) {
        /* Overrides without their series (as in an update of one instance): each alone. */
        for (int i = 0; i < noverrides; i++)
            if (!emit(out, w, overrides[i], uid, own_span(overrides[i])))
                return report(file, "out of memory", NULL, NULL);
        return 0;
    }
    /* Walk the instances from a day before the window, or the earliest RECURRENCE-ID, to a
     * day after it, or the latest: an instance moved into the window is seen too. */
    for (int i = 0; i < noverrides; i++) {
        time_t rid = utc_of(overrides[i], ICAL_RECURRENCEID_PROPERTY);
        if (rid - DAY < lo)
            lo = rid - DAY;
        if (rid + DAY > hi)
            hi = rid + DAY;
    }
    /* libical 3.0 reads an RDATE's TZID as UTC in foreach_recurrence: take the RDATEs out
     * while it runs, and add their instances here, with the file's VTIMEZONE. */
    while ((rdate = icalcomponent_get_first_property(master, ICAL_RDATE_PROPERTY))) {
        icalcomponent_remove_property(master, rdate);
        if (nrdates < MAX_RDATES) {
            rdates[nrdates++] = rdate;
        } else {
            icalproperty_free(rdate);
            dropped = 1;
        }
    }
    icalcomponent_foreach_recurrence(
        master, icaltime_from_timet_with_zone(lo, 0, icaltimezone_get_utc_timezone()),
        icaltime_from_timet_with_zone(hi, 0, icaltimezone_get_utc_timezone()), collect_span,
        &spans);
    for (int i = 0; i < nrdates; i++) {
        struct icaltimetype t = icalproperty_get_rdate(rdates[i]).time;
        icaltime_span span = own_span(master);
        time_t start = time_of(master, rdates[i], t);

        /* An RDATE on DTSTART (or twice) is one instance. */
        for (int j = 0; j < spans.n && start != (time_t)-1; j++)
            if (spans.v[j].start == start)
                start = (time_t)-1;
        t = icaltime_from_timet_with_zone(start, 0, icaltimezone_get_utc_timezone());
        if (start != (time_t)-1 && !icalproperty_recurrence_is_excluded(master, &t, &t)) {
            span.end = start + (span.end - span.start);
            span.start = start;
            collect_span(master, &span, &spans);
        }
        icalcomponent_add_property(master, rdates[i]);
    }
    if (dropped)
        problems += report(file, "%s: more RDATEs than this expander handles", uid, NULL);
    if (spans.overflow || problems) {
        free(spans.v);
        return problems ? problems
                        : report(file, "%s: more instances than this expander handles", uid, NULL);
    }
    for (int i = 0; i < spans.n && ok; i++) {
        icalcomponent *replacement = NULL;

        for (int j = 0; j < noverrides && !replacement; j++)
            if (utc_of(overrides[j], ICAL_RECURRENCEID_PROPERTY) == spans.v[i].start)
                replacement = overrides[j];
        ok = replacement ? emit(out, w, replacement, uid, own_span(replacement))
                         : emit(out, w, master, uid, spans.v[i]);
    }
    free(spans.v);
    return ok ? 0 : report(file, "out of memory", NULL, NULL);
}

static int expand_vcalendar(const char *file, icalcomponent *vcal, time_t from, time_t to,
                            struct lines *out)
{
    icalproperty *mp = icalcomponent_get_first_property(vcal, ICAL_METHOD_PROPERTY);
    struct window w = {from, to, mp && icalproperty_get_method(mp) == ICAL_METHOD_CANCEL};
    int problems = 0, n = icalcomponent_count_components(vcal, ICAL_VEVENT_COMPONENT), k = 0;
    icalcomponent **events = calloc(n ? n : 1, sizeof *events);
    char *done = calloc(n ? n : 1, 1);
    icalcomponent **group = calloc(n ? n : 1, sizeof *group);
    icalcomponent *c;

    if (!events || !done || !group) {
        free(events);
        free(done);
        free(group);
        return report(file, "out of memory", NULL, NULL);
    }
    for (c = icalcomponent_get_first_component(vcal, ICAL_VEVENT_COMPONENT); c && k < n;
         c = icalcomponent_get_next_component(vcal, ICAL_VEVENT_COMPONENT)) {
        const char *uid = icalcomponent_get_uid(c);
        problems += check_times(file, vcal, c, uid ? uid : "");
        events[k++] = c;
    }
    /* Group the VEVENTs by UID: one master (no RECURRENCE-ID) and its overrides. */
    for (int i = 0; i < n && problems == 0; i++) {
        const char *uid = icalcomponent_get_uid(events[i]);
        icalcomponent *master = NULL;
        int ngroup = 0;

        if (done[i])
            continue;
        if (!uid)
            uid = "";
        for (int j = i; j < n; j++) {
            const char *u = icalcomponent_get_uid(events[j]);

            if (done[j] || strcmp(u ? u : "", uid) != 0)
                continue;
            done[j] = 1;
            if (icalcomponent_get_first_property(events[j], ICAL_RECURRENCEID_PROPERTY))
                group[ngroup++] = events[j];
            else if (master)
                problems += report(file, "%s: two VEVENTs without RECURRENCE-ID", uid, NULL);
            else
                master = events[j];
        }
        if (problems == 0)
            problems += expand_series(file, &w, out, uid, master, group, ngroup);
    }
    free(events);
    free(done);
    free(group);
    return problems;
}

static int expand_file(const char *file, const char *from_text, const char *to_text)
{
    time_t from, to;
    size_t len = 0;
    char *text;
    icalcomponent *root, *c;
    struct lines out = {NULL, 0, 0};
    int problems = 0, calendars = 0;

    if (!parse_window(from_text, &from) || !parse_window(to_text, &to)) {
        fprintf(stderr, "ical-check --expand: FROM and TO must be UTC times like 20260101T000000Z\n");
        return 2;
    }
    if (!(text = slurp(file, &len)))
        return report(file, "cannot read: %s", strerror(errno), NULL);
    icalerror_clear_errno();
    root = icalparser_parse_string(text);
    free(text);
    if (!root)
        return report(file, "does not parse as iCalendar", NULL, NULL);
    problems += walk_errors(file, root);
    if (icalcomponent_isa(root) == ICAL_VCALENDAR_COMPONENT) {
        calendars = 1;
        if (problems == 0)
            problems += expand_vcalendar(file, root, from, to, &out);
    } else {
        for (c = icalcomponent_get_first_component(root, ICAL_VCALENDAR_COMPONENT); c;
             c = icalcomponent_get_next_component(root, ICAL_VCALENDAR_COMPONENT)) {
            calendars++;
            if (problems == 0)
                problems += expand_vcalendar(file, c, from, to, &out);
        }
    }
    if (calendars == 0)
        problems += report(file, "no VCALENDAR component", NULL, NULL);
    if (problems == 0) {
        qsort(out.v, out.n, sizeof *out.v, compare_lines);
        for (int i = 0; i < out.n; i++)
            printf("%s\n", out.v[i]);
    }
    for (int i = 0; i < out.n; i++)
        free(out.v[i]);
    free(out.v);
    icalcomponent_free(root);
    return problems ? 1 : 0;
}

int main(int argc, char **argv)
{
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n       %s --expand FILE FROM TO\n", argv[0],
                argv[0]);
        return 2;
    }
    /* Never abort() on a libical error: report it and carry on. */
    icalerror_set_errors_are_fatal(0);

    if (strcmp(argv[1], "--expand") == 0) {
        int status;

        if (argc != 5) {
            fprintf(stderr, "usage: %s --expand FILE FROM TO (FROM and TO as YYYYMMDDTHHMMSSZ)\n",
                    argv[0]);
            return 2;
        }
        status = expand_file(argv[2], argv[3], argv[4]);
        fflush(stdout);
        return status;
    }

    for (int i = 1; i < argc; i++)
        if (check_file(argv[i]) > 0)
            failed = 1;
    fflush(stdout);
    return failed;
}
