/**
 * The page in a real browser (Debian's chromium driven by playwright-core), against the
 * running deadlock example: it shows the objects, the reason a request waits, and the cycle,
 * and it shows hostile names as text. Asserts on the DOM; also saves a screenshot to
 * test-artifacts/debugger.png for people.
 *
 * One vitest project only: the page does not depend on the decorator mode, and a browser per
 * project would only double the time. Skipped where /usr/bin/chromium is missing (.ci/run
 * installs it).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Compatible, Group, MemberOf, newActive, Priority, terminate } from 'multiactive';
import { attachDebugger, recordTrace } from 'multiactive/debugger';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeadlockDemo, runDeadlockDemo } from '../../examples/deadlock/main.js';
import { type Browser, hasChromium, launchChromium } from './browser.js';
import { labelOnShape, unreadable } from './looks.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WAIT = { timeout: 10_000 };

const skip = process.env.MULTIACTIVE_DECORATORS === 'legacy' || !hasChromium();

describe("the page's stylesheet", () => {
  it('styles only classes that the page uses (a rule for a class nothing sets styles nothing)', () => {
    const pageDir = join(root, 'debugger/page');
    const css = readFileSync(join(pageDir, 'style.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const code = readdirSync(pageDir)
      .filter((name) => /\.(js|html)$/.test(name))
      .map((name) => readFileSync(join(pageDir, name), 'utf8'))
      .join('\n');
    const classes = new Set([...css.matchAll(/\.([a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
    expect(classes.size).toBeGreaterThan(30);
    // A class is set as a word of a `class` value, or made from a prefix (`state-${...}`).
    const used = (name: string): boolean =>
      new RegExp(`['"\` ]${name}['"\` $]`).test(code) ||
      [...code.matchAll(/[`'"]([a-z-]+-)\$\{/g)].some((m) => name.startsWith(m[1]!));
    expect([...classes].filter((name) => !used(name))).toEqual([]);
  });
});

describe.skipIf(skip)('the debugger page in chromium', () => {
  let browser: Browser;
  let demo: DeadlockDemo;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The example starts its own debugger on a free port and resolves once detection reported the cycle.
    demo = await runDeadlockDemo({ port: 0, print: () => undefined });
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('shows the objects, why a request waits, the timeline, and the deadlock cycle in words', async () => {
    await page.goto(demo.url);
    await page.waitForSelector('body[data-connection="live"]', WAIT);

    // 1. The object graph lists both objects, and the calls between them.
    await page.waitForSelector('#view-graph .object-box[data-object-id] >> text=/^Ponger#\\d+$/', WAIT);
    const objects = await page.locator('#view-graph .object-box .object-name').allTextContents();
    expect(objects).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Pinger#\d+$/), expect.stringMatching(/^Ponger#\d+$/)]),
    );
    const edges = await page.locator('#view-graph .call-edge text').allTextContents();
    expect(edges).toEqual(expect.arrayContaining(['1 call · 0.2/s']));

    // 2. Pinger's view: its queue, and why `ping` waits (from the live wait-for graph).
    await page.locator('#view-graph .object-box', { hasText: /^Pinger#/ }).click();
    const pingRow = page.locator('#view-object table.queue tr', {
      has: page.locator('td:first-child', { hasText: /^#\d+ ping$/ }),
    });
    await pingRow.waitFor(WAIT);
    expect(await pingRow.locator('td.reason').textContent()).toMatch(
      /`Pinger#\d+\.start` \(ungrouped, node 0\) blocks `Pinger#\d+\.ping` \(ungrouped, node 0\): an ungrouped request is compatible with nothing/,
    );
    expect(await pingRow.locator('td').nth(2).textContent()).toBe('queued');
    expect(await page.locator('#view-object .object-list button').allTextContents()).toHaveLength(2);

    // 3. The timeline: start and pong in service (open bars: they never finish).
    await page.click('#tabs button[data-view="timeline"]');
    await page.waitForSelector('#view-timeline rect.bar.open', WAIT);
    expect(
      await page.locator('#view-timeline .bar-label, #view-timeline rect.bar title').allTextContents(),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Pinger#\d+\.start #\d+/),
        expect.stringMatching(/^Ponger#\d+\.pong #\d+/),
      ]),
    );
    // Arrows from send to start: main script -> start, start -> pong (ping never starts).
    expect(await page.locator('#view-timeline line.send').count()).toBe(2);

    // 4. The deadlock: three requests in a ring, each edge labelled with its rule, then in words.
    await page.click('#tabs button[data-view="deadlocks"]');
    await page.waitForSelector('#view-deadlocks .deadlock .cycle-request', WAIT);
    const ring = await page.locator('#view-deadlocks .cycle-request .cycle-name').allTextContents();
    expect(ring.map((name) => name.replace(/#\d+/, ''))).toEqual([
      'Pinger.start',
      'Ponger.pong',
      'Pinger.ping',
    ]);
    expect(await page.locator('#view-deadlocks .cycle-edge text').allTextContents()).toEqual([
      'awaits',
      'awaits',
      'incompatible',
    ]);
    const report = await page.locator('#view-deadlocks pre.message').textContent();
    expect(report).toBe(demo.deadlock.message);
    expect(await page.locator('#tabs #deadlock-count').textContent()).toBe('(1)');

    // "Find deadlocks now" finds the same cycle again (not shown twice).
    await page.click('#find-deadlocks');
    await page.waitForSelector('#view-deadlocks .find-status >> text=1 found (0 new).', WAIT);
    expect(await page.locator('#view-deadlocks article.deadlock').count()).toBe(1);

    mkdirSync(join(root, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-artifacts/debugger.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('opens a trace file after the run and shows its objects, timeline and deadlock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiactive-page-trace-'));
    try {
      const file = join(dir, 'run.jsonl');
      writeFileSync(file, await (await fetch(`${demo.url}trace.jsonl`)).text());
      await page.goto(demo.url);
      await page.waitForSelector('body[data-connection="live"]', WAIT);
      await page.setInputFiles('#trace-file', file);
      await page.waitForSelector('body[data-connection="trace"]', WAIT);
      expect(await page.locator('#status').textContent()).toMatch(
        /^trace run\.jsonl · 2 objects · \d+ events/,
      );
      await page.click('#tabs button[data-view="graph"]');
      expect(await page.locator('#view-graph .object-box .object-name').allTextContents()).toHaveLength(3); // + (main script)
      await page.click('#tabs button[data-view="timeline"]');
      await page.waitForSelector('#view-timeline rect.bar', WAIT);
      await page.click('#tabs button[data-view="deadlocks"]');
      expect(await page.locator('#view-deadlocks pre.message').textContent()).toBe(demo.deadlock.message);
      // No "find now" on a file: there is no application behind it.
      expect(await page.locator('#find-deadlocks').count()).toBe(0);
      expect(pageErrors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows the request mode in the header, takes every request while the timeline is open, and counts dropped events', async () => {
    class Tally {
      n = 0;
      add(): number {
        return ++this.n;
      }
    }
    const debug = await attachDebugger({ batchLimit: 20 });
    const tally = newActive(Tally);
    const modeText = page.locator('#requests-mode');
    try {
      await page.goto(debug.url);
      await page.waitForSelector('body[data-connection="live"]', WAIT);
      await page.waitForSelector('#requests-mode[data-requests="sampled"]', WAIT);
      expect(await modeText.textContent()).toMatch(/^sampled 1 in \d+$/);

      await page.click('#tabs button[data-view="timeline"]');
      await page.waitForSelector('#requests-mode[data-requests="all"]', WAIT);
      expect(await modeText.textContent()).toBe('all requests');

      // More events than one push holds: the oldest are dropped, and the header says how many.
      await Promise.all(Array.from({ length: 50 }, () => tally.add()));
      await page.locator('#status', { hasText: /· dropped \d+/ }).waitFor(WAIT);

      await page.click('#tabs button[data-view="graph"]');
      await page.waitForSelector('#requests-mode[data-requests="sampled"]', WAIT);
      expect(pageErrors).toEqual([]);
    } finally {
      await terminate(tally);
      await debug.close();
    }
  });

  it('shows names that look like markup as text, and runs none of it', async () => {
    const evil = '<img src=x onerror="window.__xss=1">';
    @Group(evil, { selfCompatible: true })
    class Hostile {
      @MemberOf(evil) [evil](): string {
        return 'ok';
      }
    }
    Object.defineProperty(Hostile, 'name', { value: evil });
    const debug = await attachDebugger();
    const hostile = newActive(Hostile);
    try {
      await (hostile as unknown as Record<string, () => Promise<string>>)[evil]!();
      await page.goto(debug.url);
      await page.waitForSelector('body[data-connection="live"]', WAIT);
      await page.locator('#view-graph .object-box .object-name', { hasText: evil }).waitFor(WAIT);
      for (const view of ['object', 'timeline', 'graph'] as const) {
        await page.click(`#tabs button[data-view="${view}"]`);
        await page.waitForSelector(`#view-${view}`, WAIT);
      }
      await page.click('#tabs button[data-view="object"]');
      const groupCell = page.locator('#view-object table.groups td', { hasText: evil }).first();
      expect(await groupCell.textContent()).toBe(evil);
      expect(await page.locator('#view-object h2').textContent()).toMatch(
        /^<img src=x onerror="window.__xss=1">#\d+$/,
      );
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __xss?: unknown }).__xss)).toBeUndefined();
    } finally {
      await terminate(hostile);
      await debug.close();
    }
  });
  it('draws every view so that a person can read it: no shape in the default black, text in contrast', async () => {
    await page.goto(demo.url);
    await page.waitForSelector('body[data-connection="live"]', WAIT);
    const ready: Record<string, string> = {
      graph: '#view-graph .call-edge',
      object: '#view-object table.queue td.reason',
      timeline: '#view-timeline rect.bar',
      deadlocks: '#view-deadlocks .cycle-request',
    };
    for (const [view, selector] of Object.entries(ready)) {
      await page.click(`#tabs button[data-view="${view}"]`);
      await page.waitForSelector(selector, WAIT);
      expect(await unreadable(page, 'body'), view).toEqual([]);
    }
    expect(pageErrors).toEqual([]);
  });

  it('draws the priority graph as light boxes with dark labels that fit in them', async () => {
    @Group('routing', { selfCompatible: false })
    @Group('monitoring', { selfCompatible: true })
    @Group('a-rather-long-group-name', { selfCompatible: true })
    @Compatible(['routing', 'monitoring'])
    @Priority('routing', ['a-rather-long-group-name', 'monitoring'])
    class Prioritised {
      @MemberOf('routing') route(): number {
        return 1;
      }
      @MemberOf('monitoring') watch(): number {
        return 2;
      }
      @MemberOf('a-rather-long-group-name') read(): number {
        return 3;
      }
    }
    const debug = await attachDebugger();
    const object = newActive(Prioritised);
    try {
      await object.route();
      await page.goto(`${debug.url}#object`);
      await page.waitForSelector('body[data-connection="live"]', WAIT);
      await page.waitForSelector('#view-object svg.priority .group-box', WAIT);
      const boxes = await labelOnShape(page, '#view-object svg.priority .group-box', 'rect', 'text');
      expect(boxes.map((b) => b.what).sort()).toEqual(['a-rather-long-group-name', 'monitoring', 'routing']);
      for (const box of boxes) {
        expect(box.background, box.what).not.toBe('rgb(0, 0, 0)'); // the SVG default: a style missed it
        expect(box.contrast, `${box.what}: ${box.fill} on ${box.background}`).toBeGreaterThanOrEqual(4.5);
        expect(box.inside, `${box.what} fits in its box`).toBe(true);
      }
      expect(await unreadable(page, '#view-object')).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await terminate(object);
      await debug.close();
    }
  });
  it('shows the last 10 s of the timeline by default, and everything on request', async () => {
    class Clock {
      tick(n: number): number {
        return n;
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'multiactive-page-window-'));
    try {
      const file = join(dir, 'long.jsonl');
      const recording = recordTrace(file);
      const clock = newActive(Clock);
      await clock.tick(1);
      await clock.tick(2);
      await terminate(clock);
      await recording.stop();
      // A session of a minute: everything up to the second call happened 60 s earlier.
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      const [first, second] = lines.filter((l) => l.type === 'request.sent' && l.request.method === 'tick');
      const firstId: number = first.request.requestId;
      for (const line of lines)
        if (typeof line.time === 'number' && line.time < second.time) line.time -= 60_000;
      writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);

      await page.goto(demo.url);
      await page.waitForSelector('body[data-connection="live"]', WAIT);
      await page.setInputFiles('#trace-file', file);
      await page.waitForSelector('body[data-connection="trace"]', WAIT);
      await page.click('#tabs button[data-view="timeline"]');
      await page.waitForSelector(
        `#view-timeline rect.bar[data-request-id="${second.request.requestId}"]`,
        WAIT,
      );
      expect(await page.locator('#window').inputValue()).toBe('10000');
      expect(await page.locator('#view-timeline .hint').textContent()).toMatch(/^10\.00 s shown\./);
      expect(await page.locator(`#view-timeline rect.bar[data-request-id="${firstId}"]`).count()).toBe(0);

      await page.selectOption('#window', '0'); // everything
      await page.waitForSelector(`#view-timeline rect.bar[data-request-id="${firstId}"]`, WAIT);
      expect(await page.locator('#view-timeline .hint').textContent()).toMatch(/^60\.\d\d s shown\./);
      expect(pageErrors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('fills in, back on the timeline, the requests it missed on another view, and marks what the server no longer had', async () => {
    class Work {
      step(n: number): number {
        return n;
      }
    }
    const debug = await attachDebugger({ ringSize: 120 });
    const work = newActive(Work);
    const steps = page.locator('#view-timeline rect.bar', {
      has: page.locator('title', { hasText: /\.step #/ }),
    });
    let sent = 1;
    const away = async (calls: number) => {
      await page.click('#tabs button[data-view="graph"]');
      await page.waitForSelector('#requests-mode[data-requests="sampled"]', WAIT);
      for (let i = 0; i < calls; i++) await work.step(i);
      // The page got the lean stream meanwhile: the sends (counted on the graph), not the steps.
      sent += calls;
      await page
        .locator('#view-graph .call-edge text', { hasText: new RegExp(`^${sent} calls`) })
        .waitFor(WAIT);
      await page.click('#tabs button[data-view="timeline"]');
      await page.waitForSelector('#requests-mode[data-requests="all"]', WAIT);
    };
    try {
      await page.goto(`${debug.url}#timeline`);
      await page.waitForSelector('#requests-mode[data-requests="all"]', WAIT);
      await work.step(-1);
      await page.waitForSelector('#view-timeline rect.bar', WAIT);
      expect(await steps.count()).toBe(1);

      // 1. Away for 4 calls: the ring still holds them all, so they are all drawn on return.
      await away(4);
      await expect.poll(() => steps.count(), WAIT).toBe(5);
      expect(await page.locator('#view-timeline rect.gap').count()).toBe(0);

      // 2. Away for 60 calls (some 300 events): the ring (120) lost the oldest. Those are marked,
      // the rest drawn.
      await away(60);
      const label = page.locator('#view-timeline text.gap-label');
      await label.waitFor(WAIT);
      expect(await label.textContent()).toMatch(/^not recorded while you were on another tab \(.+\)$/);
      expect(await page.locator('#view-timeline .hint').textContent()).toContain(
        'Grey bands: times this page showed another view',
      );
      const drawn = await steps.count();
      expect(drawn).toBeGreaterThan(5 + 5);
      expect(drawn).toBeLessThan(5 + 60);
      // The band is where the lost calls were: before the calls drawn after it.
      const band = (await page.locator('#view-timeline rect.gap').boundingBox())!;
      const last = (await steps.last().boundingBox())!;
      expect(band.x + band.width).toBeLessThanOrEqual(last.x + 0.5);
      expect(await unreadable(page, '#view-timeline')).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await terminate(work);
      await debug.close();
    }
  });
});
