/**
 * The classic active-object deadlock, on purpose. Both classes are undecorated, so each serves
 * one request at a time and an ungrouped request is compatible with nothing:
 *
 * 1. `Pinger.start` runs and awaits `ponger.pong(me)`;
 * 2. `Ponger.pong` runs and awaits `pinger.ping()`;
 * 3. `Pinger.ping` is queued behind `start`, which is still in service (in wait-by-necessity):
 *    `start` waits for `pong`, `pong` for `ping`, `ping` for `start`. A cycle.
 *
 * (No vitest import here: classes may be located by module on worker nodes.)
 */
import { type Active, selfRef } from 'multiactive';

export class Pinger {
  async start(ponger: Active<Ponger>): Promise<string> {
    return await ponger.pong(selfRef<Pinger>(this));
  }

  ping(): string {
    return 'ping';
  }
}

export class Ponger {
  async pong(pinger: Active<Pinger>): Promise<string> {
    return `${await pinger.ping()} pong`;
  }
}
