// Shared helpers for the browser scripts: launching Debian's chromium, reading sign-in links
// from the SMTP sink's Maildir, signing in, and reaching elements by keyboard.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/// A required environment variable.
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set`);
  return v;
}

export const BASE_URL = () => env('BASE_URL');

/// Debian's chromium, headless (playwright cannot download browsers here), in Norwegian:
/// with chromium-l10n installed, LANGUAGE=nb gives the date and time fields their Norwegian
/// form (dd.mm.åååå, 24 hours), as a keyboard user in Bergen types them.
export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=nb'],
    env: { ...process.env, LANGUAGE: 'nb' },
  });
}

/// A browser context as a Norwegian user would have it.
export async function newContext(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({
    baseURL: BASE_URL(),
    locale: 'nb-NO',
    timezoneId: 'Europe/Oslo',
    viewport,
  });
  context.setDefaultTimeout(15000);
  return context;
}

/// Fail with `message` unless `ok`.
export function check(ok, message) {
  if (!ok) throw new Error(message);
}

/// The page's one h1 must read `text`.
export async function expectH1(page, text) {
  const h1 = page.getByRole('heading', { level: 1 });
  try {
    await h1.filter({ hasText: text }).waitFor({ timeout: 10000 });
  } catch {
    const seen = await h1.allTextContents();
    throw new Error(`expected h1 «${text}» on ${page.url()}, found ${JSON.stringify(seen)}`);
  }
  // A navigation may still be replacing the document: give it time to settle on exactly one
  // h1 before calling it a fault (a page that really has two never settles).
  let count = await h1.count();
  for (let i = 0; i < 50 && count !== 1; i++) {
    await page.waitForTimeout(100);
    count = await h1.count();
  }
  check(count === 1, `${count} h1 elements on ${page.url()}, expected one`);
  check((await h1.textContent()).includes(text), `expected h1 «${text}» on ${page.url()}`);
}

export function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------
// Mail: the sink (aiosmtpd's Mailbox handler) writes one file per message to MAILDIR/new.

function decodeBody(body, encoding) {
  const bytes = (() => {
    switch ((encoding || '').toLowerCase()) {
      case 'base64':
        return Buffer.from(body.replace(/\s+/g, ''), 'base64');
      case 'quoted-printable': {
        const soft = body.replace(/=\r?\n/g, '');
        const out = [];
        for (let i = 0; i < soft.length; i++) {
          const hex = soft.slice(i + 1, i + 3);
          if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
            out.push(parseInt(hex, 16));
            i += 2;
          } else {
            out.push(soft.charCodeAt(i) & 0xff);
          }
        }
        return Buffer.from(out);
      }
      default:
        return Buffer.from(body, 'latin1');
    }
  })();
  return bytes.toString('utf8');
}

/// A raw message (read as latin1, so bytes survive) as {headers, texts}: the decoded text of
/// every text/* part, however it was transfer-encoded.
export function parseMessage(raw) {
  const split = raw.search(/\r?\n\r?\n/);
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const type = headers['content-type'] || 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    check(boundary, `multipart without boundary: ${type}`);
    const texts = [];
    const pieces = body.split(new RegExp(`\\r?\\n?--${escapeRegExp(boundary)}`));
    for (const piece of pieces.slice(1)) {
      if (piece.startsWith('--')) break;
      texts.push(...parseMessage(piece.replace(/^[ \t]*\r?\n/, '')).texts);
    }
    return { headers, texts };
  }
  if (/^text\//i.test(type)) {
    return { headers, texts: [decodeBody(body, headers['content-transfer-encoding'])] };
  }
  return { headers, texts: [] };
}

/// File names in the Maildir now (new/ and cur/).
export function mailFiles(maildir) {
  return ['new', 'cur'].flatMap((d) => {
    try {
      return readdirSync(join(maildir, d)).map((f) => join(maildir, d, f));
    } catch {
      return [];
    }
  });
}

/// Wait for a message to `email` that is not in `seen` and holds a sign-in link; return the
/// link's path (newest message first).
export async function waitForSignInLink(maildir, email, seen, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = mailFiles(maildir)
      .filter((f) => !seen.has(f))
      .map((f) => ({ f, t: statSync(f).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of fresh) {
      const m = parseMessage(readFileSync(f, 'latin1'));
      if (!(m.headers.to || '').toLowerCase().includes(email.toLowerCase())) continue;
      for (const text of m.texts) {
        const link = /https?:\/\/[^\s"'<>]+?(\/logg-inn\/lenke\/[0-9A-Za-z_-]+)/.exec(text);
        if (link) return link[1];
      }
    }
    check(Date.now() < deadline, `no sign-in mail to ${email} in ${maildir} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------
// Acting on pages, with the mouse or with the keyboard alone.

/// Whether the focused element shows a focus indicator (an outline or a box shadow).
async function assertFocusVisible(handle, what) {
  const style = await handle.evaluate((el) => {
    const s = getComputedStyle(el);
    return {
      outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
      shadow: s.boxShadow !== 'none',
      visible: el.matches(':focus-visible'),
    };
  });
  check(style.visible && (style.outline || style.shadow), `${what} has focus but no visible focus indicator: ${JSON.stringify(style)}`);
}

/// Press Tab until `locator` has focus; fail after `max` presses. Checks that the element
/// shows it has focus.
export async function tabTo(locator, max = 80) {
  const page = locator.page();
  await locator.waitFor();
  const handle = await locator.elementHandle();
  for (let i = 0; i <= max; i++) {
    if (await handle.evaluate((el) => el === document.activeElement)) {
      await assertFocusVisible(handle, String(locator));
      return i;
    }
    if (i < max) await page.keyboard.press('Tab');
  }
  const active = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 200));
  throw new Error(`${locator} not reached with ${max} Tab presses on ${page.url()} (focus is on ${active})`);
}

/// The skip link is the first stop and moves focus to the main content.
export async function skipToContent(page) {
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Hopp til innholdet' });
  check(
    await skip.evaluate((el) => el === document.activeElement),
    `the first Tab on ${page.url()} does not reach «Hopp til innholdet»`,
  );
  const box = await skip.boundingBox();
  check(box && box.x >= 0 && box.y >= 0 && box.width > 0, `«Hopp til innholdet» is not visible when focused on ${page.url()}`);
  await page.keyboard.press('Enter');
  check(
    await page.evaluate(() => document.activeElement?.id === 'innhold'),
    `«Hopp til innholdet» does not move focus to the main content on ${page.url()}`,
  );
}

/// Mouse and keyboard actors with the same verbs.
export function actor(mode) {
  if (mode === 'keyboard') {
    return {
      mode,
      /// Follow a link or press a button.
      async press(locator) {
        await tabTo(locator);
        const tag = await locator.evaluate((el) => el.tagName);
        await locator.page().keyboard.press(tag === 'BUTTON' ? 'Space' : 'Enter');
      },
      /// Type into an empty or filled text field (select what is there first).
      async type(locator, text) {
        await tabTo(locator);
        const page = locator.page();
        await page.keyboard.press('ControlOrMeta+A');
        await page.keyboard.type(text);
      },
      /// A time field, HH:MM, typed digit by digit into its segments.
      async time(locator, hhmm) {
        await tabTo(locator);
        await locator.page().keyboard.type(hhmm.replace(':', ''));
        const v = await locator.inputValue();
        check(v === hhmm, `typed ${hhmm} into ${locator}, it holds «${v}»`);
      },
      /// Choose an option of a select by its text, with the arrow keys.
      async select(locator, label) {
        await tabTo(locator);
        const page = locator.page();
        const chosen = () => locator.evaluate((el) => el.options[el.selectedIndex].text);
        await page.keyboard.press('Home');
        for (let i = 0; i < 50 && (await chosen()) !== label; i++) await page.keyboard.press('ArrowDown');
        check((await chosen()) === label, `could not choose «${label}» in ${locator} with the keyboard`);
      },
      /// Tick a checkbox with Space.
      async tick(locator) {
        await tabTo(locator);
        await locator.page().keyboard.press('Space');
        check(await locator.isChecked(), `${locator} is not ticked`);
      },
      /// A date field, YYYY-MM-DD, typed as a Norwegian reads it: day, month, year.
      async date(locator, ymd) {
        await tabTo(locator);
        const [y, m, d] = ymd.split('-');
        await locator.page().keyboard.type(`${d}${m}${y}`);
        const v = await locator.inputValue();
        check(v === ymd, `typed ${ymd} into ${locator}, it holds «${v}»`);
      },
    };
  }
  return {
    mode,
    async press(locator) {
      await locator.click();
    },
    async type(locator, text) {
      await locator.fill(text);
    },
    async time(locator, hhmm) {
      await locator.fill(hhmm);
    },
    async date(locator, ymd) {
      await locator.fill(ymd);
    },
    async select(locator, label) {
      await locator.selectOption({ label });
    },
    async tick(locator) {
      await locator.check();
    },
  };
}

/// Sign in on `page` as `email` with the link from the mail sink; ends on the week view.
/// `onLinkPage` runs on the «Logg inn» button page before the button is pressed.
export async function signIn(page, act, email, { onCheckMail, onLinkPage } = {}) {
  const maildir = env('MAILDIR');
  await page.goto('/logg-inn');
  await expectH1(page, 'Logg inn');
  if (act.mode === 'keyboard') await skipToContent(page);
  const seen = new Set(mailFiles(maildir));
  await act.type(page.getByLabel('E-postadresse'), email);
  await act.press(page.getByRole('button', { name: 'Send innloggingslenke' }));
  await expectH1(page, 'Sjekk e-posten din');
  if (onCheckMail) await onCheckMail(page);
  const link = await waitForSignInLink(maildir, email, seen);
  await page.goto(link);
  await expectH1(page, 'Logg inn');
  if (onLinkPage) await onLinkPage(page);
  if (act.mode === 'keyboard') await skipToContent(page);
  await act.press(page.getByRole('main').getByRole('button', { name: 'Logg inn' }));
  await page.waitForURL((u) => u.pathname === '/');
  const who = page.getByText(/^Logget inn som /);
  await who.waitFor();
}

/// Print the script's outcome for the Rust side: one line, `RESULT {json}`.
export function result(value) {
  console.log(`RESULT ${JSON.stringify(value)}`);
}

/// Run `main`, closing the browser; exit 1 with the error on failure.
export async function run(main) {
  let browser;
  try {
    browser = await launch();
    await main(browser);
    await browser.close();
  } catch (e) {
    console.error(e?.stack || String(e));
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  }
}
