// Accessibility: every page, signed out and signed in (as a partner and as the coordinator),
// at 375 and 1280 px, scanned by axe-core for WCAG 2.0/2.1 A and AA; and at both widths the
// page must not scroll sideways (reflow). A page that answers 404 is skipped (and listed as
// skipped), so the scan runs before every page exists; the Rust side decides what must be there.
//
// Env: BASE_URL, MAILDIR, DAY, PARTNER_EMAIL, COORDINATOR_EMAIL, BOOKING_ID (the partner's
// confirmed booking), DISPLACED_ID (the partner's booking that was withdrawn), BUSY_FROM,
// BUSY_TO (a slot on DAY that another partner holds), SERIES_FROM, SERIES_TO (free on DAY and
// the two weeks after, for the partner's series), SERIES_ID (BEHO's series, one occurrence
// waiting for the coordinator), CHECKIN_ID (the partner's booking in its check-in window: the
// today page shows its QR code).
import AxeBuilder from '@axe-core/playwright';
import { actor, check, env, expectH1, newContext, result, run, signIn } from './lib.mjs';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/// Problems found here whose fix is in the page's markup, reported to its owner: printed on
/// every run but not failing it; once one no longer occurs, the scan fails until it is
/// removed from this list. Keep it empty when you can.
// Known violations waiting for a markup fix: none. An entry here is printed instead of failing,
// and fails once it no longer occurs (so the list cannot go stale).
const PENDING_MARKUP_FIXES = [];
const pending = (v) => PENDING_MARKUP_FIXES.find((k) => k.page === v.page && k.rule === v.rule && k.target.test(v.target));
const WIDTHS = [375, 1280];
const DAY = env('DAY');

const scanned = [];
const skipped = [];
const violations = [];
const consoleErrors = [];

/// Scan the page as it is now at each width, under `name`.
async function scan(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const report = await new AxeBuilder({ page }).withTags(TAGS).analyze();
    for (const v of report.violations) {
      for (const node of v.nodes) {
        violations.push({
          page: name,
          url: page.url(),
          width,
          rule: v.id,
          impact: v.impact,
          target: node.target.join(' '),
          html: node.html.slice(0, 240),
          summary: node.failureSummary,
        });
      }
    }
    // Reflow: nothing may push the page wider than the window.
    const wide = await page.evaluate(() => {
      const limit = document.documentElement.clientWidth;
      const width = document.documentElement.scrollWidth;
      if (width <= limit) return [];
      // Content inside a scroll container (a wide table) scrolls there, not the page; an
      // absolutely positioned element only if the container is (or is inside) its
      // containing block.
      const scrolls = (el) => {
        let absolute = ['absolute', 'fixed'].includes(getComputedStyle(el).position);
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
          const style = getComputedStyle(a);
          if (absolute && style.position === 'static') continue;
          absolute = ['absolute', 'fixed'].includes(style.position);
          if (style.overflowX !== 'visible') return true;
        }
        return false;
      };
      const over = (el) => el.getBoundingClientRect().right > limit + 1 && el.getBoundingClientRect().width > 0;
      const out = [];
      for (const el of document.body.querySelectorAll('*')) {
        if (!over(el) || scrolls(el) || [...el.children].some((c) => over(c) && !scrolls(c))) continue;
        const r = el.getBoundingClientRect();
        const name = `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className ? '.' + String(el.className).trim().replace(/ +/g, '.') : ''}`;
        out.push(`${name} (right edge ${Math.round(r.right)} px) «${(el.textContent || '').trim().slice(0, 60)}»`);
      }
      return out.length ? out.slice(0, 5) : [`html (${width} px wide)`];
    });
    for (const target of wide) {
      violations.push({ page: name, url: page.url(), width, rule: 'reflow', impact: 'serious', target, summary: 'The page scrolls sideways at this width' });
    }
  }
  scanned.push(name);
}

/// Open `path` and scan it; skip it (and say so) if it answers 404.
async function visit(page, path, name = path) {
  const res = await page.goto(path);
  if (res.status() === 404) {
    skipped.push(name);
    return;
  }
  const want = new URL(path, page.url()).pathname;
  check(new URL(page.url()).pathname === want, `${path} led to ${page.url()}`);
  check(res.ok(), `${path} answered ${res.status()}`);
  await scan(page, name);
}

/// Console errors (a style or script the Content-Security-Policy blocks, a missing file),
/// except the page's own intended 4xx answer.
function watch(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const source = m.location()?.url || '';
    if (m.text().startsWith('Failed to load resource') && source === page.url()) return;
    // Chromium asks for /favicon.ico by itself; the site has none (yet), which no reader sees.
    if (source.endsWith('/favicon.ico')) return;
    consoleErrors.push({ page: new URL(page.url()).pathname, source, text: m.text().slice(0, 160) });
  });
  page.on('pageerror', (e) => consoleErrors.push({ page: new URL(page.url()).pathname, text: String(e) }));
}

run(async (browser) => {
  const act = actor('mouse');

  // Signed out.
  const anon = await (await newContext(browser)).newPage();
  watch(anon);
  for (const path of ['/', `/?dato=${DAY}`, '/i-dag', '/aktiviteter', '/regler', '/tilgjengelighet', '/logg-inn', '/tilgang']) {
    await visit(anon, path);
  }
  await anon.goto('/logg-inn');
  await act.type(anon.getByLabel('E-postadresse'), 'ukjent@example.org');
  await act.press(anon.getByRole('button', { name: 'Send innloggingslenke' }));
  await expectH1(anon, 'Sjekk e-posten din');
  await scan(anon, 'Sjekk e-posten din');
  await anon.context().close();

  // A partner.
  const partner = await (await newContext(browser)).newPage();
  watch(partner);
  await signIn(partner, act, env('PARTNER_EMAIL'), { onLinkPage: (p) => scan(p, '/logg-inn/lenke/…') });
  await scan(partner, 'partner /');
  await visit(partner, `/?dato=${DAY}`, `partner /?dato=${DAY}`);
  await visit(partner, '/booking/ny', 'partner /booking/ny');
  await act.press(partner.getByRole('button', { name: 'Send forespørsel' }));
  await expectH1(partner, 'Book');
  check((await partner.getByRole('alert').count()) >= 1, 'the empty form answers with its errors');
  await scan(partner, 'partner /booking/ny with errors');
  await partner.goto(`/booking/ny?dato=${DAY}&fra=${env('BUSY_FROM')}&til=${env('BUSY_TO')}`);
  await act.type(partner.getByLabel('Tittel', { exact: true }), 'Veiledning');
  await act.type(partner.getByLabel('Antall deltakere'), '8');
  await act.press(partner.getByRole('button', { name: 'Send forespørsel' }));
  await expectH1(partner, 'Rommet er opptatt');
  await scan(partner, 'partner «Rommet er opptatt»');
  await act.press(partner.getByRole('main').getByRole('button', { name: /^Book / }).first());
  await expectH1(partner, 'Bookingen er bekreftet');
  await scan(partner, 'partner «Bookingen er bekreftet»');
  await visit(partner, '/bookinger', 'partner /bookinger');
  await visit(partner, `/bookinger/${env('BOOKING_ID')}`, 'partner /bookinger/{id}');
  await visit(partner, `/bookinger/${env('DISPLACED_ID')}`, 'partner /bookinger/{id} trukket tilbake');
  await visit(partner, `/bookinger/${env('BOOKING_ID')}/flytt`, 'partner /bookinger/{id}/flytt');
  await visit(partner, '/kalenderabonnement', 'partner /kalenderabonnement');
  await visit(partner, `/bookinger/${env('PAST_ID')}/oppmote`, 'partner /bookinger/{id}/oppmote');
  await visit(partner, env('REMINDER_PATH'), 'partner /paminnelse/{token}');
  // Check-in: the page the today page's QR code leads to, and the answer to «Sjekk inn».
  await visit(partner, `/booking/${env('CHECKIN_ID')}/sjekk-inn`, 'partner /booking/{id}/sjekk-inn');
  await act.press(partner.getByRole('main').getByRole('button', { name: /^Sjekk inn/ }));
  await expectH1(partner, 'Du er sjekket inn');
  await scan(partner, 'partner «Du er sjekket inn»');
  // The waitlist: the busy time again, «Sett meg på venteliste», the list (with a hold to
  // answer), and the hold's link from the mail.
  await partner.goto(`/booking/ny?dato=${DAY}&fra=${env('BUSY_FROM')}&til=${env('BUSY_TO')}`);
  await act.type(partner.getByLabel('Tittel', { exact: true }), 'Veiledning');
  await act.type(partner.getByLabel('Antall deltakere'), '8');
  await act.press(partner.getByRole('button', { name: 'Send forespørsel' }));
  await expectH1(partner, 'Rommet er opptatt');
  await act.press(partner.getByRole('button', { name: 'Sett meg på venteliste' }));
  await expectH1(partner, 'Du står på ventelisten');
  await scan(partner, 'partner «Du står på ventelisten»');
  await visit(partner, '/venteliste', 'partner /venteliste');
  await visit(partner, env('HOLD_PATH'), 'partner /venteliste/svar/{token}');
  // A weekly series: the preview of every occurrence, «Book serien», the series' pages.
  await partner.goto(`/booking/ny?dato=${DAY}&fra=${env('SERIES_FROM')}&til=${env('SERIES_TO')}`);
  await act.type(partner.getByLabel('Tittel', { exact: true }), 'Lesesirkel');
  await act.type(partner.getByLabel('Antall deltakere', { exact: true }), '8');
  await act.tick(partner.getByRole('radio', { name: 'Hver uke', exact: true }));
  await act.type(partner.getByLabel('Antall ganger', { exact: true }), '3');
  await act.press(partner.getByRole('button', { name: 'Send forespørsel' }));
  await expectH1(partner, 'Slik blir serien');
  await scan(partner, 'partner «Slik blir serien»');
  await act.press(partner.getByRole('button', { name: 'Book serien' }));
  await expectH1(partner, 'Lesesirkel');
  const seriesPath = new URL(partner.url()).pathname;
  check(/^\/serier\/\d+$/.test(seriesPath), `«Book serien» led to ${partner.url()}`);
  await scan(partner, 'partner /serier/{id}');
  await visit(partner, `${seriesPath}/endre`, 'partner /serier/{id}/endre');
  await partner.context().close();

  // The coordinator.
  const coordinator = await (await newContext(browser)).newPage();
  watch(coordinator);
  await signIn(coordinator, act, env('COORDINATOR_EMAIL'));
  for (const path of ['/koordinator', '/koordinator/bookinger', '/koordinator/brukere', '/koordinator/virksomheter', '/koordinator/oppmote', '/rapport', '/kalenderabonnement', '/booking/ny', '/bookinger', `/bookinger/${env('BOOKING_ID')}`, `/serier/${env('SERIES_ID')}`]) {
    await visit(coordinator, path, `coordinator ${path.replace(/\/\d+$/, '/{id}')}`);
  }
  await coordinator.context().close();

  const failing = violations.filter((v) => !pending(v));
  for (const v of violations) {
    const tag = pending(v) ? 'PENDING (markup fix reported)' : 'VIOLATION';
    console.error(`${tag} ${v.rule} (${v.impact}) on «${v.page}» at ${v.width} px: ${v.target}\n    ${v.html ?? ''}\n    ${(v.summary ?? '').replace(/\n/g, '\n    ')}`);
  }
  const fixed = PENDING_MARKUP_FIXES.filter((k) => !violations.some((v) => k === pending(v)));
  for (const k of fixed) console.error(`FIXED: ${k.rule} on «${k.page}» no longer occurs; remove it from PENDING_MARKUP_FIXES`);
  for (const s of skipped) console.error(`skipped (404): ${s}`);
  for (const c of consoleErrors) console.error(`console error on ${c.page}: ${c.text} (${c.source ?? ''})`);
  result({ scanned, skipped, violations, consoleErrors, widths: WIDTHS });
  check(failing.length === 0, `${failing.length} accessibility problems (listed above)`);
  check(consoleErrors.length === 0, `${consoleErrors.length} console errors, e.g. the Content-Security-Policy refusing something (listed above)`);
  check(fixed.length === 0, `${fixed.length} pending markup fixes are done: remove them from PENDING_MARKUP_FIXES`);
});
