/**
 * An order-maintenance list: a doubly linked list whose nodes carry integer labels that grow
 * along the list, so "is a before b?" is one comparison. The ready list needs it: a request
 * is inserted before the first ready request it can overtake, which is found by comparing
 * the oldest ready request of each lower group (docs/semantics.md).
 *
 * Labels are integers below 2^50 (exact in a double). Inserting between two nodes takes the
 * midpoint; when the gap is gone, the neighbourhood is relabelled as in Dietz & Sleator
 * ("Two algorithms for maintaining order in a list", 1987): walk right from the left
 * neighbour until the label span w_j of j nodes exceeds j^2, then spread those j nodes
 * evenly. Time: O(1) per insert, plus O(log n) amortized relabelling.
 */
export interface OrderNode {
  label: number;
  oPrev: OrderNode | null;
  oNext: OrderNode | null;
}

const LABEL_LIMIT = 2 ** 50;
/** Gap left after the last node on an append: ~2^30 appends fit before a relabel. */
const APPEND_GAP = 2 ** 20;

export class OrderList {
  first: OrderNode | null = null;
  last: OrderNode | null = null;
  /** Number of relabel passes so far (benchmarks and tests read it). */
  relabels = 0;

  /** Insert `node` before `before`, or at the end when `before` is null. */
  insertBefore(before: OrderNode | null, node: OrderNode): void {
    const prev = before === null ? this.last : before.oPrev;
    node.oPrev = prev;
    node.oNext = before;
    if (prev === null) this.first = node;
    else prev.oNext = node;
    if (before === null) this.last = node;
    else before.oPrev = node;
    this.assignLabel(node);
  }

  remove(node: OrderNode): void {
    const { oPrev, oNext } = node;
    if (oPrev === null) this.first = oNext;
    else oPrev.oNext = oNext;
    if (oNext === null) this.last = oPrev;
    else oNext.oPrev = oPrev;
    node.oPrev = null;
    node.oNext = null;
  }

  private assignLabel(node: OrderNode): void {
    const lo = node.oPrev === null ? 0 : node.oPrev.label;
    if (node.oNext === null) {
      if (lo + APPEND_GAP < LABEL_LIMIT) {
        node.label = lo + APPEND_GAP;
        return;
      }
    } else if (node.oNext.label - lo >= 2) {
      node.label = lo + Math.floor((node.oNext.label - lo) / 2);
      return;
    }
    this.relabelFrom(node);
  }

  /**
   * Give `node` (already linked) a label by spreading it and the nodes after it over the
   * label span to their right. Time: O(j) for the j nodes touched.
   */
  private relabelFrom(node: OrderNode): void {
    this.relabels++;
    const base = node.oPrev === null ? 0 : node.oPrev.label;
    // j nodes from `node` (inclusive) up to `cursor` (exclusive) share the span base..cursor.
    let j = 1;
    let cursor: OrderNode | null = node.oNext;
    let span = (cursor === null ? LABEL_LIMIT : cursor.label) - base;
    while (span <= j * j && cursor !== null) {
      cursor = cursor.oNext;
      j++;
      span = (cursor === null ? LABEL_LIMIT : cursor.label) - base;
    }
    if (span <= j * j) {
      this.relabelAll();
      return;
    }
    // span > j^2 >= j + 1, so the labels below are distinct, increasing and below cursor's.
    // At the end of the list, space the nodes like appends instead of over all the free label
    // space: spreading over [base, LABEL_LIMIT) left only 1/(j+1) of it after the last node,
    // so repeated insertions before the last node used the space up geometrically and fell
    // into relabelAll every few hundred inserts (O(n^2) total).
    const step = cursor === null ? Math.min(span / (j + 1), APPEND_GAP) : span / (j + 1);
    let n: OrderNode | null = node;
    for (let k = 1; k <= j && n !== null; k++, n = n.oNext) n.label = base + Math.floor(k * step);
  }

  /** Last resort (the whole label space is crowded): evenly respace every node. Time: O(n). */
  private relabelAll(): void {
    let count = 0;
    for (let n = this.first; n !== null; n = n.oNext) count++;
    const step = Math.floor(LABEL_LIMIT / (count + 1));
    let k = 1;
    for (let n = this.first; n !== null; n = n.oNext, k++) n.label = k * step;
  }
}
