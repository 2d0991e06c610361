import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: NodejsFunction's projectRoot, where package.json and package-lock.json live. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const LOCK_FILE = path.join(PROJECT_ROOT, 'package-lock.json');

export type EntryPoint = 'ingest' | 'read' | 'operate' | 'expiry' | 'reconcile';

/** A Lambda entry point: `functions/entrypoints/<name>.ts`, exporting `handler`. */
export function entryPath(name: EntryPoint): string {
  return path.join(PROJECT_ROOT, 'functions', 'entrypoints', `${name}.ts`);
}

/** The version package-lock.json pins for a package, so what is deployed is what was tested. */
export function lockedVersion(packageName: string): string {
  const lock = JSON.parse(readFileSync(LOCK_FILE, 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };
  const version = lock.packages?.[`node_modules/${packageName}`]?.version;
  if (version === undefined) throw new Error(`${packageName} is not in ${LOCK_FILE}`);
  return version;
}
