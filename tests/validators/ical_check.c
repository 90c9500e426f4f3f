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
 * See tests/validators/README.md for what libical's restriction check does
 * and does not flag.
 */
#include <libical/ical.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...\n", argv[0]);
        return 2;
    }
    /* Never abort() on a libical error: report it and carry on. */
    icalerror_set_errors_are_fatal(0);

    for (int i = 1; i < argc; i++)
        if (check_file(argv[i]) > 0)
            failed = 1;
    fflush(stdout);
    return failed;
}
