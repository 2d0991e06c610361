import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** The V8 collector, for tests that measure leaks: destroy hooks of finished timers run after a GC. */
export const gc = runInNewContext('gc') as () => void;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Counts live `Timeout` resources from their async_hooks init/destroy events. Unref'd timers
 * (the Couchbase SDK's, the local scheduler's) are invisible to process.getActiveResourcesInfo().
 * Call `enable()` before the code under test runs and `disable()` after.
 */
export function timeoutTracker() {
  const live = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') live.add(id);
    },
    destroy(id) {
      live.delete(id);
    },
  });
  return {
    enable: () => hook.enable(),
    disable: () => hook.disable(),
    /** Live Timeouts once finished timers and closed sockets have been collected. */
    async settled(waitMs = 100): Promise<number> {
      await sleep(waitMs);
      gc();
      await sleep(20);
      gc();
      return live.size;
    },
  };
}
