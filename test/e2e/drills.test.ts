import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DrillName } from '../../drill/scenarios.js';

// The game-day drills (`npm run drill -- <name>`, issue 9), each a real run: the local pipeline,
// a simulated fleet of 100 agents over HTTP, the named outage for 3 x TTL. About a minute each
// (power-cut two: it waits for the minute summaries), one at a time.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface DrillRun {
  code: number | null;
  output: string;
  figures: {
    expired: number;
    died: number;
    falseExpiries: string[];
    missedExpiries: string[];
    deferrals: number;
    worstLatenessSeconds: number | null;
    markedSuspected: number;
    markedMass: number;
    summaries: { expired: number }[];
    failures: string[];
  };
}

function drill(name: DrillName, ...flags: string[]): Promise<DrillRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'drill/run.ts', name, '--json', ...flags], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = output.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ code, output, figures: JSON.parse(last) as DrillRun['figures'] });
      } catch {
        reject(new Error(`the drill printed no figures (exit ${code}):\n${output}`));
      }
    });
  });
}

const BOUND_SECONDS = 30;
const MINUTES = 60_000;

describe('outage drills through the local pipeline', () => {
  for (const name of ['ingest-down', 'store-down', 'scheduler-down', 'freeze'] as const) {
    it(
      `${name}: no agent that reports again is expired; the dead tenth expires by the bound`,
      async () => {
        const { code, output, figures } = await drill(name);
        expect(figures.failures, output).toEqual([]);
        expect(code).toBe(0);
        expect(figures.falseExpiries).toEqual([]);
        expect(figures.missedExpiries).toEqual([]);
        expect(figures.expired).toBe(figures.died);
        expect(figures.worstLatenessSeconds).toBeLessThanOrEqual(BOUND_SECONDS);
      },
      4 * MINUTES,
    );
  }

  it(
    'fleet-dies: the dead fifth expires on time, none deferred, each marked massExpiry',
    async () => {
      const { code, output, figures } = await drill('fleet-dies');
      expect(figures.failures, output).toEqual([]);
      expect(code).toBe(0);
      expect(figures).toMatchObject({
        died: 20,
        expired: 20,
        deferrals: 0,
        markedMass: 20,
        falseExpiries: [],
      });
    },
    4 * MINUTES,
  );

  it(
    'power-cut: every agent expires by the bound, marked, with the per-minute summaries',
    async () => {
      const { code, output, figures } = await drill('power-cut');
      expect(figures.failures, output).toEqual([]);
      expect(code).toBe(0);
      expect(figures).toMatchObject({ died: 100, expired: 100, markedSuspected: 100, markedMass: 100 });
      expect(figures.summaries.reduce((sum, s) => sum + s.expired, 0)).toBe(100);
    },
    5 * MINUTES,
  );

  it(
    'fails, exit 1, when the guard is off: ingest-down then expires agents that report again',
    async () => {
      const { code, figures } = await drill('ingest-down', '--no-guard');
      expect(code).toBe(1);
      expect(figures.falseExpiries.length).toBeGreaterThan(0);
      expect(figures.failures[0]).toMatch(/agents expired that kept reporting/);
    },
    4 * MINUTES,
  );

  it('refuses an unknown drill with the list of drills, exit 2', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'drill/run.ts', 'meteor'], { cwd: repoRoot });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown drill "meteor"/);
    expect(stderr).toMatch(/power-cut/);
  });
});
