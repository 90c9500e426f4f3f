// The walk through a conflict, in a real browser: a partner books a free slot from the week
// view; BEHO asks for the same slot; the coordinator approves it with a reason, side by side
// with the booking it displaces; the partner sees «trukket tilbake» with the reason and books
// a free alternative with one click.
//
// MODE=mouse clicks and fills; MODE=keyboard does everything with Tab, typing, Enter and Space
// (no click, no fill), checking that every element it reaches shows its focus.
//
// Env: BASE_URL, MAILDIR, MODE, DAY (YYYY-MM-DD), DAY_LABEL («tirsdag 15. desember 2026»),
// FROM, TO (HH:MM), PARTNER_EMAIL, OWNER_EMAIL, COORDINATOR_EMAIL, REASON.
import { actor, check, env, escapeRegExp, expectH1, newContext, result, run, signIn, skipToContent } from './lib.mjs';

const MODE = env('MODE');
const DAY = env('DAY');
const DAY_LABEL = env('DAY_LABEL');
const FROM = env('FROM');
const TO = env('TO');
const REASON = env('REASON');
const PARTNER_TITLE = 'Forskermøte i klyngen';
const OWNER_TITLE = 'Arbeidsverksted for hjemmetjenesten';

check(MODE === 'mouse' || MODE === 'keyboard', `MODE must be mouse or keyboard, not ${MODE}`);

/// Fill in the booking form's time, title and number of people (and, if given, the activity:
/// kind, a theme and the expected researchers), and send it.
async function fillBooking(page, act, title, people, activity) {
  await act.time(page.getByLabel('Fra klokken'), FROM);
  await act.time(page.getByLabel('Til klokken'), TO);
  await act.type(page.getByLabel('Tittel', { exact: true }), title);
  await act.type(page.getByLabel('Antall deltakere', { exact: true }), people);
  if (activity) {
    await act.select(page.getByLabel('Aktivitetstype'), activity.kind);
    await act.tick(page.getByRole('checkbox', { name: activity.theme, exact: true }));
    await act.type(page.getByLabel(activity.group, { exact: true }), activity.expected);
  }
  await act.press(page.getByRole('button', { name: 'Send forespørsel' }));
}

run(async (browser) => {
  const act = actor(MODE);
  const keyboard = MODE === 'keyboard';
  const steps = [];

  // 1. The partner books the slot from the week view.
  const partner = await (await newContext(browser)).newPage();
  await signIn(partner, act, env('PARTNER_EMAIL'));
  await partner.goto(`/?dato=${DAY}`);
  await expectH1(partner, 'ukevisning');
  if (keyboard) await skipToContent(partner);
  const book = partner
    .getByRole('link', { name: new RegExp(`^Book kl\\. \\d\\d\\.\\d\\d–\\d\\d\\.\\d\\d ${escapeRegExp(DAY_LABEL)}$`) })
    .first();
  await act.press(book);
  await expectH1(partner, 'Book');
  const prefilled = await partner.getByLabel('Dato', { exact: true }).inputValue();
  check(prefilled === DAY, `the form from «Book» should have the date ${DAY}, has «${prefilled}»`);
  if (keyboard) await skipToContent(partner);
  await fillBooking(partner, act, PARTNER_TITLE, '12', { kind: 'Arbeidsverksted', theme: 'Brukermedvirkning', group: 'Forskere', expected: '5' });
  await expectH1(partner, 'Bookingen er bekreftet');
  steps.push('partner booked');

  // 2. BEHO, the owner, asks for the same slot: a request for the coordinator.
  const owner = await (await newContext(browser)).newPage();
  await signIn(owner, act, env('OWNER_EMAIL'));
  await owner.goto('/booking/ny');
  await expectH1(owner, 'Book');
  if (keyboard) await skipToContent(owner);
  await act.date(owner.getByLabel('Dato', { exact: true }), DAY);
  await fillBooking(owner, act, OWNER_TITLE, '25');
  await expectH1(owner, 'Forespørselen er sendt');
  steps.push('owner requested');
  await owner.context().close();

  // 3. The coordinator sees both sides and approves with a reason.
  const coordinator = await (await newContext(browser)).newPage();
  await signIn(coordinator, act, env('COORDINATOR_EMAIL'));
  await act.press(coordinator.getByRole('banner').getByRole('link', { name: 'Koordinator', exact: true }));
  await expectH1(coordinator, 'Til behandling');
  const main = coordinator.getByRole('main');
  const table = main.getByRole('table').filter({ hasText: OWNER_TITLE }).filter({ hasText: PARTNER_TITLE });
  check((await table.count()) >= 1, 'the queue shows the request and the booking it competes with in one table');
  for (const header of ['Prioritetsgruppe', 'Virksomhet', 'Tittel', 'Antall deltakere', 'Tid', 'Forespurt', 'Beskyttelsesperiode']) {
    const cells = table.first().getByRole('rowheader', { name: header, exact: true })
      .or(table.first().getByRole('columnheader', { name: header, exact: true }));
    check((await cells.count()) >= 1, `the side-by-side table has no header «${header}»`);
  }
  if (keyboard) await skipToContent(coordinator);
  await act.type(main.getByLabel('Begrunnelse'), REASON);
  await act.press(main.getByRole('button', { name: 'Godkjenn og trekk tilbake' }));
  await expectH1(coordinator, 'Forespørselen er godkjent');
  steps.push('coordinator approved');
  await coordinator.context().close();

  // 4. The partner, still signed in, finds the booking withdrawn and takes an alternative.
  await partner.goto('/');
  if (keyboard) await skipToContent(partner);
  await act.press(partner.getByRole('banner').getByRole('link', { name: 'Våre bookinger' }));
  await expectH1(partner, 'Våre bookinger');
  const row = partner.getByRole('row').filter({ hasText: PARTNER_TITLE }).filter({ hasText: 'trukket tilbake' });
  check((await row.count()) === 1, `«Våre bookinger» should list «${PARTNER_TITLE}» as «trukket tilbake»`);
  if (keyboard) await skipToContent(partner);
  await act.press(row.getByRole('link', { name: PARTNER_TITLE }));
  await expectH1(partner, PARTNER_TITLE);
  await partner.getByRole('main').getByText(REASON).first().waitFor();
  await partner.getByRole('heading', { name: 'Ledige alternativer' }).waitFor();
  const alternative = partner
    .getByRole('main')
    .getByRole('button', { name: /^Book .+ kl\. \d\d\.\d\d–\d\d\.\d\d$/ })
    .first();
  const chosen = (await alternative.textContent()).trim();
  if (keyboard) await skipToContent(partner);
  await act.press(alternative);
  await expectH1(partner, 'Bookingen er bekreftet');
  steps.push('partner took an alternative');

  // 5. The partner registers who came to yesterday's event, from «Våre bookinger».
  await partner.goto('/bookinger');
  if (keyboard) await skipToContent(partner);
  await act.press(partner.getByRole('link', { name: `Registrer oppmøte for ${env('PAST_TITLE')}` }));
  await expectH1(partner, 'Registrer oppmøte');
  if (keyboard) await skipToContent(partner);
  await act.type(partner.getByLabel('Forskere', { exact: true }), '7');
  await act.type(partner.getByLabel('Studenter', { exact: true }), '4');
  await act.type(partner.getByLabel('Ansatte i kommunen', { exact: true }), '9');
  await act.type(partner.getByLabel(/^Utbytte og erfaringer/), 'Nyttig for kunnskapsbehovene i hjemmetjenesten.');
  await act.press(partner.getByRole('button', { name: 'Lagre oppmøte' }));
  await expectH1(partner, 'Oppmøtet er registrert');
  steps.push('partner registered attendance');
  await partner.context().close();

  // 6. The coordinator opens the report: the attendance is in it.
  const reader = await (await newContext(browser)).newPage();
  await signIn(reader, act, env('COORDINATOR_EMAIL'));
  await act.press(reader.getByRole('banner').getByRole('link', { name: 'Rapport', exact: true }));
  await expectH1(reader, 'Rapport til kommunaldirektørens ledergruppe');
  if (keyboard) await skipToContent(reader);
  await act.date(reader.getByLabel('Fra dato'), env('REPORT_FROM'));
  await act.date(reader.getByLabel('Til dato'), env('REPORT_TO'));
  await act.press(reader.getByRole('button', { name: 'Vis rapport' }));
  // The same heading is on the page before and after: wait for the chosen period's page.
  await reader.waitForURL((u) => u.searchParams.get('fra') === env('REPORT_FROM'));
  await reader.waitForLoadState();
  await expectH1(reader, 'Rapport til kommunaldirektørens ledergruppe');
  const actual = reader.getByRole('main').getByText(/^20 faktiske deltakere/);
  check((await actual.count()) === 1, 'the report counts the 20 who came');
  const kinds = reader.getByRole('table', { name: 'Per aktivitetstype' });
  const workshop = kinds.getByRole('row').filter({ has: reader.getByRole('rowheader', { name: 'Arbeidsverksted', exact: true }) });
  const cells = await workshop.getByRole('cell').allTextContents();
  check(cells[0] === '1', `the report counts the workshop under «Arbeidsverksted»: ${cells.join(' | ')}`);
  // Printed, it is the report alone: no menus or period form, and its tables fit the width.
  await reader.emulateMedia({ media: 'print' });
  check(await reader.getByRole('heading', { level: 1, name: 'Rapport til kommunaldirektørens ledergruppe' }).isVisible(), 'the printed report has its title');
  check(!(await reader.getByRole('button', { name: 'Vis rapport' }).isVisible()), 'the period form is not printed');
  check(!(await reader.getByRole('banner').isVisible()), 'the menus are not printed');
  const overflow = await reader.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `the printed report is ${overflow} px wider than the page`);
  await reader.emulateMedia({ media: 'screen' });
  steps.push('coordinator read the report');

  result({ mode: MODE, steps, chosen });
});
