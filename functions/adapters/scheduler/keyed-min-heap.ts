/**
 * A binary min-heap of entries ordered by `at`, addressable by key, so that setting a key that is
 * already present moves it instead of adding a second entry (one schedule per name). Written here
 * because the well-known priority-queue packages lack update and removal by key.
 */
export class KeyedMinHeap<T> {
  private readonly items: { key: string; at: number; value: T }[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  peek(): { key: string; at: number; value: T } | undefined {
    return this.items[0];
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): { at: number; value: T } | undefined {
    const position = this.index.get(key);
    return position === undefined ? undefined : this.items[position];
  }

  set(key: string, at: number, value: T): void {
    const position = this.index.get(key);
    if (position === undefined) {
      this.items.push({ key, at, value });
      this.index.set(key, this.items.length - 1);
      this.up(this.items.length - 1);
      return;
    }
    this.items[position] = { key, at, value };
    this.down(this.up(position));
  }

  delete(key: string): boolean {
    const position = this.index.get(key);
    if (position === undefined) return false;
    this.index.delete(key);
    const last = this.items.pop();
    if (last !== undefined && position < this.items.length) {
      this.items[position] = last;
      this.index.set(last.key, position);
      this.down(this.up(position));
    }
    return true;
  }

  /** Removes and returns the earliest entry if it is due at or before `now`. */
  popDue(now: number): { key: string; at: number; value: T } | undefined {
    const first = this.items[0];
    if (first === undefined || first.at > now) return undefined;
    this.delete(first.key);
    return first;
  }

  private up(start: number): number {
    let child = start;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (this.at(parent) <= this.at(child)) break;
      this.swap(parent, child);
      child = parent;
    }
    return child;
  }

  private down(start: number): void {
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.items.length && this.at(left) < this.at(smallest)) smallest = left;
      if (right < this.items.length && this.at(right) < this.at(smallest)) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private at(position: number): number {
    return this.items[position]?.at ?? Number.POSITIVE_INFINITY;
  }

  private swap(a: number, b: number): void {
    const itemA = this.items[a];
    const itemB = this.items[b];
    if (itemA === undefined || itemB === undefined) return;
    this.items[a] = itemB;
    this.items[b] = itemA;
    this.index.set(itemB.key, a);
    this.index.set(itemA.key, b);
  }
}
