/**
 * The subject of the value benchmarks (values-bench.ts): an object that returns what it is
 * given, so that one call copies the value twice (argument and result), in-thread or over
 * the wire both ways. Its own module: workers locate classes by module URL.
 */
import { Group, MemberOf } from '../src/index.js';

@Group('g', { selfCompatible: true })
export class ValueEcho {
  @MemberOf('g') echo(value: unknown): unknown {
    return value;
  }
}
