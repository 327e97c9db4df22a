/**
 * A head-indexed FIFO over a plain array: O(1) push and shift without `Array.prototype.shift`
 * (which is O(n)). The dead prefix is dropped when it is both large and at least half the
 * array, so memory stays within 2x of the live items. Time: O(1) amortized per operation.
 */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T; // let the item be collected
    this.head++;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The i-th live item from the head (0-based). */
  at(i: number): T | undefined {
    const j = this.head + i;
    return j < this.items.length ? this.items[j] : undefined;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
