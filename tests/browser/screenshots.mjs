// Screenshots for people, not for assertions: the week view, the booking form with its
// errors, the coordinator's queue with one conflict, and the report on screen and as printed,
// each at 1280 and 375 px, as PNGs in OUT_DIR; and the report as a PDF. Run by `BORGERTUN_SCREENSHOTS=1 cargo test --test browser every_page` (after the
// data of the accessibility test is in place); not run in CI.
//
// Env: BASE_URL, MAILDIR, DAY, PARTNER_EMAIL, COORDINATOR_EMAIL, OUT_DIR.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { actor, env, expectH1, newContext, result, run, signIn } from './lib.mjs';

const OUT = env('OUT_DIR');
const DAY = env('DAY');
const written = [];

async function shoot(page, name) {
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 900 });
    const file = join(OUT, `${name}-${width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    written.push(file);
  }
}

run(async (browser) => {
  mkdirSync(OUT, { recursive: true });
  const act = actor('mouse');

  const anon = await (await newContext(browser)).newPage();
  await anon.goto(`/?dato=${DAY}`);
  await expectH1(anon, 'ukevisning');
  await shoot(anon, 'ukevisning');
  await anon.context().close();

  const partner = await (await newContext(browser)).newPage();
  await signIn(partner, act, env('PARTNER_EMAIL'));
  await partner.goto(`/booking/ny?dato=${DAY}&fra=06:00&til=07:00`);
  await act.type(partner.getByLabel('Tittel', { exact: true }), 'Tidlig møte');
  await act.type(partner.getByLabel('Antall deltakere'), '500');
  await act.press(partner.getByRole('button', { name: 'Send forespørsel' }));
  await expectH1(partner, 'Book');
  await shoot(partner, 'skjema-med-feil');
  await partner.context().close();

  const coordinator = await (await newContext(browser)).newPage();
  await signIn(coordinator, act, env('COORDINATOR_EMAIL'));
  await coordinator.goto('/koordinator');
  await expectH1(coordinator, 'Til behandling');
  await shoot(coordinator, 'koordinator');
  // The report over DAY's year, on screen and as printed for the management group.
  const year = DAY.slice(0, 4);
  await coordinator.goto(`/rapport?fra=${year}-01-01&til=${year}-12-31`);
  await expectH1(coordinator, 'Rapport til kommunaldirektørens ledergruppe');
  await shoot(coordinator, 'rapport');
  await coordinator.emulateMedia({ media: 'print' });
  await shoot(coordinator, 'rapport-utskrift');
  // And as the PDF the management group gets: A4 landscape, from the page's own CSS.
  const pdf = join(OUT, 'rapport.pdf');
  await coordinator.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true });
  written.push(pdf);
  await coordinator.context().close();

  for (const f of written) console.log(f);
  result({ written });
});
