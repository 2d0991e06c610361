import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The dependency direction of DESIGN.md §2, read from the source: handlers -> core -> ports <-
// adapters, composition only in entrypoints/ and local/.
const root = fileURLToPath(new URL('../../functions', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** file (relative to functions/) -> the files it imports (relative), local imports only. */
const graph = new Map(
  sources(root).map((file) => {
    const text = readFileSync(file, 'utf8');
    const imports = [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm)]
      .map((match) => path.resolve(path.dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts')))
      .map((target) => path.relative(root, target));
    return [path.relative(root, file), imports] as const;
  }),
);

const layer = (file: string) => file.split(path.sep)[0] ?? '';

describe('dependency direction', () => {
  it('reads the source (the graph is not empty)', () => {
    expect(graph.get(path.join('core', 'record-heartbeat.ts'))).toContain(
      path.join('core', 'write-protocol.ts'),
    );
  });

  it('the core imports only the core', () => {
    for (const [file, imports] of graph) {
      if (layer(file) !== 'core') continue;
      for (const target of imports) expect(layer(target), `${file} -> ${target}`).toBe('core');
    }
  });

  it('has no import circle inside the core', () => {
    const core = [...graph.keys()].filter((file) => layer(file) === 'core');
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      expect(state.get(file), `import circle: ${[...trail, file].join(' -> ')}`).not.toBe('visiting');
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? [])
        if (layer(target) === 'core') visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of core) visit(file, []);
  });

  it('http/ and observability/ import nothing from handlers/, and adapters nothing from handlers/ or http/', () => {
    for (const [file, imports] of graph) {
      const from = layer(file);
      for (const target of imports) {
        if (from === 'http' || from === 'observability')
          expect(layer(target), `${file} -> ${target}`).not.toBe('handlers');
        if (from === 'adapters')
          expect(['handlers', 'http', 'local', 'entrypoints']).not.toContain(layer(target));
      }
    }
  });

  it('only composition code (entrypoints/, local/) picks adapters', () => {
    for (const [file, imports] of graph) {
      if (['entrypoints', 'local', 'adapters'].includes(layer(file))) continue;
      for (const target of imports) expect(layer(target), `${file} -> ${target}`).not.toBe('adapters');
    }
  });
});

// What keeps the Lambda bundles small (bench/bundle.ts measures it): classic zod costs 460 KiB
// where zod/mini costs 40, and a dynamic import() makes esbuild keep every export of whatever the
// imported module imports (it kept all of DynamoDB's commands and waiters).
describe('bundle hygiene of the functions (everything outside local/)', () => {
  const lambdaSources = sources(root).filter((file) => layer(path.relative(root, file)) !== 'local');

  it('validate with zod/mini, never classic zod', () => {
    for (const file of lambdaSources) {
      const text = readFileSync(file, 'utf8');
      expect(text, path.relative(root, file)).not.toMatch(/from\s+'zod'/);
    }
    expect(lambdaSources.some((file) => readFileSync(file, 'utf8').includes("from 'zod/mini'"))).toBe(true);
  });

  it('import modules statically', () => {
    for (const file of lambdaSources) {
      expect(readFileSync(file, 'utf8'), path.relative(root, file)).not.toMatch(/\bimport\(/);
    }
  });
});
