/**
 * The SPEC's example: a peer of a distributed hash table. Lookups of different keys run
 * together, routing changes run alone (but alongside monitoring), and routing goes first.
 */
import { Compatible, Group, MemberOf, Priority, ThreadConfig } from 'multiactive';

export interface Data {
  readonly value: string;
  readonly version: number;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Group('routing', { selfCompatible: false })
@Group('monitoring', { selfCompatible: true })
@Group('lookup', { selfCompatible: true, condition: (a, b) => a.args[0] !== b.args[0], maxThreads: 4 })
@Compatible(['routing', 'monitoring'])
@Compatible(['lookup', 'monitoring'])
@Priority('routing', ['lookup', 'monitoring'])
@ThreadConfig({ threadPoolSize: 4, hardLimit: false })
export class Peer {
  private readonly store = new Map<string, Data>();
  private readonly logLines: string[] = [];

  constructor(readonly name: string) {}

  /** Routing: changes the table, so nothing may read it meanwhile. */
  @MemberOf('routing') async add(key: string, value: string): Promise<number> {
    const version = (this.store.get(key)?.version ?? 0) + 1;
    await pause(20); // e.g. replicate to a neighbour, holding the slot
    this.store.set(key, { value, version });
    return version;
  }

  /** Lookup: reads only; lookups of different keys may overlap. */
  @MemberOf('lookup') async get(key: string): Promise<Data | undefined> {
    await pause(10); // e.g. read from disk
    return this.store.get(key);
  }

  /** Monitoring: compatible with everything but itself... and itself (self-compatible). */
  @MemberOf('monitoring') log(message: string): number {
    this.logLines.push(`${this.name}: ${message}`);
    return this.logLines.length;
  }
}
