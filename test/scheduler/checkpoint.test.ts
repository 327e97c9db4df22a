/**
 * The checkpoint request in the scheduler (SPEC §9, issue #5): admitted at once, nothing
 * admitted or started after it, started only when no request is in service (WBN included),
 * above every group (also groups outside any priority chain: the reference's flaw), and not
 * starved by a steady stream of compatible requests. Time is driven by hand.
 */
import { describe, expect, it } from 'vitest';
import { SchedRequest, Scheduler, type SchedulerHost } from '../../scheduler/scheduler.js';
import { buildPolicy, type PolicyDecl } from './policy-builder.js';

class Req extends SchedRequest {
  readonly name: string;
  constructor(name: string, groupId: number, group: string | undefined) {
    super(groupId, group, group ?? 'solo', []);
    this.name = name;
  }
}

function harness(decl: PolicyDecl, limit?: { limit: number; hard: boolean }) {
  const policy = buildPolicy(decl);
  const log: string[] = [];
  const host: SchedulerHost<Req> = {
    start: (r) => log.push(`start ${r.name}`),
    resume: (r) => log.push(`resume ${r.name}`),
    requestDrain() {},
  };
  const scheduler = new Scheduler<Req>(policy, host);
  if (limit !== undefined) {
    scheduler.setLimit(limit.limit);
    scheduler.setHardLimit(limit.hard);
  }
  const requests = new Map<string, Req>();
  const submit = (name: string, group: string | undefined): Req => {
    const g = group === undefined ? policy.groupCount : policy.groupNames.indexOf(group);
    const r = new Req(name, g, group);
    requests.set(name, r);
    scheduler.submit(r);
    return r;
  };
  const checkpoint = (name = 'cp'): Req => {
    const r = new Req(name, -1, '__checkpoint__');
    requests.set(name, r);
    expect(scheduler.submitCheckpoint(r)).toBe(true);
    return r;
  };
  const get = (name: string) => requests.get(name)!;
  const drain = (): string[] => {
    const from = log.length;
    scheduler.drain();
    return log.slice(from);
  };
  const finish = (name: string) => scheduler.finish(get(name));
  return { scheduler, submit, checkpoint, get, drain, finish };
}

const counting: PolicyDecl = { groups: [{ name: 'counting', selfCompatible: true }] };

describe('the checkpoint request', () => {
  it('waits for every request in service, and nothing starts or is admitted meanwhile', () => {
    const t = harness(counting);
    t.submit('a', 'counting');
    t.submit('b', 'counting');
    expect(t.drain()).toEqual(['start a', 'start b']);
    t.checkpoint();
    t.submit('c', 'counting'); // compatible with a and b, but not with the checkpoint
    expect(t.drain()).toEqual([]);
    expect(t.scheduler.queuedRequests().map((r) => r.name)).toEqual(['c']);
    t.finish('a');
    expect(t.drain()).toEqual([]);
    t.finish('b');
    expect(t.drain()).toEqual(['start cp']);
    expect(t.drain()).toEqual([]); // while it runs, nothing else
    t.finish('cp');
    expect(t.drain()).toEqual(['start c']);
    expect(t.scheduler.checkpoint).toBeNull();
  });

  it('waits for requests in wait-by-necessity too, and lets them resume (they hold their slot)', () => {
    const t = harness(counting, { limit: 2, hard: false });
    t.submit('a', 'counting');
    t.submit('x', 'counting');
    expect(t.drain()).toEqual(['start a', 'start x']);
    t.scheduler.enterWait(t.get('a')); // under a soft limit its slot is free now; x is active
    t.checkpoint();
    t.submit('b', 'counting');
    expect(t.drain()).toEqual([]); // x is active: nothing new, and not the checkpoint
    t.scheduler.wake(t.get('a'));
    expect(t.drain()).toEqual(['resume a']);
    t.finish('a');
    t.finish('x');
    expect(t.drain()).toEqual(['start cp']);
    t.finish('cp');
    expect(t.drain()).toEqual(['start b']);
  });

  it('while every request in service waits by necessity, others are admitted and start (a callback may be needed)', () => {
    const t = harness(counting, { limit: 1, hard: false });
    t.submit('a', 'counting');
    expect(t.drain()).toEqual(['start a']);
    t.checkpoint();
    t.submit('callback', 'counting');
    expect(t.drain()).toEqual([]); // a is active
    t.scheduler.enterWait(t.get('a')); // a awaits something: perhaps `callback`
    expect(t.drain()).toEqual(['start callback']);
    t.finish('callback');
    t.scheduler.wake(t.get('a'));
    expect(t.drain()).toEqual(['resume a']);
    t.finish('a');
    expect(t.drain()).toEqual(['start cp']); // nothing in service any more
  });

  it('when the last active request finishes while others wait by necessity, the queued ones are admitted', () => {
    // Two requests of one group in service: `a` waits by necessity, `b` is active. The
    // checkpoint holds `c` back while `b` runs; once `b` finishes (its group still has `a` in
    // service), every request in service waits, so `c` (perhaps the callback `a` waits for)
    // must be admitted. It was not: only the end of a group's last request re-ran admission.
    const t = harness(counting);
    t.submit('a', 'counting');
    t.submit('b', 'counting');
    expect(t.drain()).toEqual(['start a', 'start b']);
    t.scheduler.enterWait(t.get('a'));
    t.checkpoint();
    t.submit('c', 'counting');
    expect(t.drain()).toEqual([]);
    t.finish('b');
    expect(t.drain()).toEqual(['start c']);
  });

  it('goes before ready requests of every group, including groups outside any priority chain', () => {
    const t = harness(
      {
        groups: [
          { name: 'hi', selfCompatible: true },
          { name: 'lo', selfCompatible: true },
          { name: 'other' },
        ],
        compatible: [{ groups: ['hi', 'lo', 'other'] }],
        priorities: [['hi', 'lo']],
      },
      { limit: 1, hard: true },
    );
    t.submit('x', 'other');
    expect(t.drain()).toEqual(['start x']);
    t.submit('h', 'hi');
    t.submit('o', 'other');
    t.checkpoint();
    t.finish('x');
    expect(t.drain()).toEqual(['start cp']);
    t.finish('cp');
    expect(t.drain()).toEqual(['start h']);
  });

  it('is not starved by a steady stream of compatible requests: it runs after those in service', () => {
    const t = harness(counting, { limit: 2, hard: false });
    let n = 0;
    const next = () => t.submit(`r${++n}`, 'counting');
    next();
    next();
    t.drain();
    t.checkpoint();
    const startedBefore: string[] = [];
    // Each time one finishes, two more arrive: the stream never pauses.
    for (let i = 1; i <= 2; i++) {
      next();
      next();
      t.finish(`r${i}`);
      startedBefore.push(...t.drain());
    }
    expect(startedBefore).toEqual(['start cp']);
  });

  it('a second checkpoint while one is pending joins it; cancelling a pending one readmits the queue', () => {
    const t = harness(counting);
    t.submit('a', 'counting');
    t.drain();
    const cp = t.checkpoint();
    expect(t.scheduler.submitCheckpoint(new Req('cp2', -1, '__checkpoint__'))).toBe(false);
    t.submit('b', 'counting');
    expect(t.drain()).toEqual([]);
    expect(t.scheduler.cancel(cp)).toBe(true);
    expect(t.drain()).toEqual(['start b']);
  });

  it('an ungrouped request in service holds it back like any other', () => {
    const t = harness(counting);
    t.submit('u', undefined);
    t.drain();
    t.checkpoint();
    expect(t.drain()).toEqual([]);
    t.finish('u');
    expect(t.drain()).toEqual(['start cp']);
  });
});
