/**
 * dynalite ships no types. Only what functions/local/dynalite.ts uses is declared (see
 * node_modules/dynalite/index.js for the full option list).
 */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when absent. */
    path?: string;
    /** How long a table stays CREATING / DELETING / UPDATING (default 500 ms each). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }

  /**
   * An http.Server whose `close` also closes the LevelDB store (releasing its lock) before
   * calling back.
   */
  function dynalite(options?: DynaliteOptions): Server;

  export = dynalite;
}
