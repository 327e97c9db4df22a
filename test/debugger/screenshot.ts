/**
 * `npm run screenshot`: the docs' pictures of the debugger (docs/img/debugger*.png), taken
 * from `npm start -- --debug --deadlock` (examples/peer/debug.ts) in Debian's chromium.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onEvent } from 'multiactive';
import { debugDemo } from '../../examples/peer/debug.js';
import { launchChromium } from './browser.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = join(root, 'docs/img');
const ROUNDS = 6;

mkdirSync(out, { recursive: true });
// Enough traffic rounds for the graph's rates and the timeline to have something to show.
let rounds = 0;
let enough!: () => void;
const traffic = new Promise<void>((resolve) => (enough = resolve));
let copied = (_requestId: number): void => undefined;
const stop = onEvent((event) => {
  if (event.type !== 'request.finished' || event.request.method !== 'copyFrom') return;
  if (++rounds === ROUNDS) enough();
  copied(event.request.requestId);
});
/** The request id of the next `copyFrom` to finish. */
const nextCopy = (): Promise<number> => new Promise((resolve) => (copied = resolve));
const demo = await debugDemo({ deadlock: true, port: 0, print: () => undefined });
const browser = await launchChromium();
try {
  const deadlock = await demo.deadlockFound;
  await traffic;
  const page = await browser.context.newPage();
  await page.goto(demo.url);
  await page.waitForSelector('body[data-connection="live"]');
  await page.waitForSelector('#view-graph .call-edge');
  await page.screenshot({ path: join(out, 'debugger-graph.png') });

  // The object view of the replica whose routing change is stuck: its queue says why.
  const stuck = deadlock.cycle[0]!.request.objectName;
  await page.locator('#view-graph .object-box', { hasText: stuck }).click();
  await page.waitForSelector('#view-object table.queue td.reason');
  await page.screenshot({ path: join(out, 'debugger-object.png'), fullPage: true });

  // A peer's policy: its groups, compatibility matrix and priority graph.
  await page.locator('#view-object .object-list button', { hasText: /^Peer#/ }).click();
  await page.waitForSelector('#view-object svg.priority .group-box');
  await page.screenshot({ path: join(out, 'debugger-policy.png'), fullPage: true });

  // The last second: a few rounds of traffic, wide enough to see lookups overlap.
  await page.selectOption('#window', '1000');
  await page.click('#tabs button[data-view="timeline"]');
  // Every request from now on, the rounds missed on the other views filled in, and the next
  // round drawn: the last second is complete.
  await page.waitForSelector('#requests-mode[data-requests="all"]');
  const next = await nextCopy();
  await page.waitForSelector(`#view-timeline rect.bar[data-request-id="${next}"]`);
  await page.screenshot({ path: join(out, 'debugger-timeline.png') });

  await page.click('#tabs button[data-view="deadlocks"]');
  await page.waitForSelector('#view-deadlocks .cycle-request');
  await page.screenshot({ path: join(out, 'debugger.png'), fullPage: true });
  console.log(
    `wrote ${out}/debugger.png, debugger-graph.png, debugger-object.png, debugger-policy.png, debugger-timeline.png`,
  );
} finally {
  stop();
  await browser.close();
  await demo.close();
}
