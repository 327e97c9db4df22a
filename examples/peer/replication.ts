/**
 * Replicas of a table that copy entries from each other, for `npm start -- --debug`.
 *
 * A copy is a routing change on the copying replica that reads (a lookup) from the source.
 * Run one after the other, that is fine. But a replica that, inside its own routing change,
 * asks a neighbour to copy from it deadlocks:
 *
 * 1. `a.put(k, v, b)` (routing on a) awaits `b.copyFrom(a, k)`;
 * 2. `b.copyFrom` (routing on b) awaits `a.get(k)`;
 * 3. `a.get` is a lookup, not compatible with routing, so it waits for `a.put` to finish.
 *
 * A multiactive deadlock: each object is free to serve, but the two groups may not overlap.
 * (No vitest import here: classes may be located by module on worker nodes.)
 */
import { type Active, Group, MemberOf, selfRef } from 'multiactive';

@Group('routing', { selfCompatible: false })
@Group('lookup', { selfCompatible: true })
export class Replica {
  private readonly table = new Map<string, string>();

  /** Stores an entry; with a neighbour, also has the neighbour copy it before returning. */
  @MemberOf('routing') async put(key: string, value: string, neighbour?: Active<Replica>): Promise<number> {
    this.table.set(key, value);
    if (neighbour !== undefined) await neighbour.copyFrom(selfRef<Replica>(this), key);
    return this.table.size;
  }

  /** Copies one entry from another replica. */
  @MemberOf('routing') async copyFrom(source: Active<Replica>, key: string): Promise<number> {
    const value = await source.get(key);
    if (value !== undefined) this.table.set(key, value);
    return this.table.size;
  }

  @MemberOf('lookup') get(key: string): string | undefined {
    return this.table.get(key);
  }
}
