import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedMinHeap } from '../../functions/adapters/scheduler/keyed-min-heap.js';

describe('KeyedMinHeap', () => {
  it('keeps one entry per key and pops due entries in time order, whatever the operations', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        at: fc.nat(100),
      }),
      fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.nat(100), (ops, now) => {
        const heap = new KeyedMinHeap<null>();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            heap.set(o.key, o.at, null);
            model.set(o.key, o.at);
          } else {
            expect(heap.delete(o.key)).toBe(model.delete(o.key));
          }
          expect(heap.size).toBe(model.size);
        }
        const popped: number[] = [];
        for (let due = heap.popDue(now); due !== undefined; due = heap.popDue(now)) {
          expect(model.get(due.key)).toBe(due.at);
          model.delete(due.key);
          popped.push(due.at);
        }
        expect(popped).toEqual([...popped].sort((x, y) => x - y));
        expect([...model.values()].every((at) => at > now)).toBe(true);
        expect(heap.size).toBe(model.size);
      }),
    );
  });
});
