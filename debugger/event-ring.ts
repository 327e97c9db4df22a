/**
 * A bounded ring of recent items: a page opened late sees the recent past, and a long
 * session's memory stays bounded. `push` is O(1) and allocates nothing once full. The
 * server also uses one as the outgoing batch: bounded by count, the oldest dropped first.
 */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;
  /** Items pushed since creation (or the last `clear`), dropped ones included. */
  total = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.count < this.capacity) this.count++;
    this.total++;
  }

  get size(): number {
    return this.count;
  }

  /** Items pushed but no longer kept (overwritten by newer ones). */
  get dropped(): number {
    return this.total - this.count;
  }

  /** Oldest first. Time: O(size). */
  toArray(): T[] {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    const out = new Array<T>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.items[(start + i) % this.capacity] as T;
    return out;
  }

  /** Forgets every item (and the count of dropped ones). Time: O(size). */
  clear(): void {
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) this.items[(start + i) % this.capacity] = undefined;
    this.next = 0;
    this.count = 0;
    this.total = 0;
  }
}
