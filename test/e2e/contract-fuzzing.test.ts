import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../functions/http/openapi.js';
import { OPENAPI_PATH, type LocalApp } from '../../functions/local/app.js';
import { RecordingLog } from '../support/fakes.js';
import { OPERATOR_TOKEN, startTestApp } from '../support/local-app.js';
import { type TestVenv, ensureTestVenv } from '../support/python-venv.js';

// Contract fuzzing (issue 8): schemathesis generates requests from the OpenAPI document the local
// runner serves, valid and invalid, and checks every answer against it. A fixed seed and a
// bounded number of examples keep the run the same on every machine and within a minute.
const TOKEN = 'fuzz-token';
const SEED = '20261202';
const EXAMPLES_PER_OPERATION = '60';
// Which checks run, and what counts as a rejection: schemathesis.toml beside this file.
const CONFIG = fileURLToPath(new URL('./schemathesis.toml', import.meta.url));

let app: LocalApp;
let stop: () => Promise<void> = async () => undefined;
let venv: TestVenv;
const log = new RecordingLog();

beforeAll(async () => {
  venv = await ensureTestVenv();
  ({ app, stop } = await startTestApp({ token: TOKEN, log, policy: { minTtlSeconds: 1 } }));
}, 300_000);

afterAll(() => stop());

function schemathesis(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Each operation gets the credential its security names (schemathesis.toml, [auth.openapi]).
    const env = { ...process.env, FUZZ_AGENT_TOKEN: TOKEN, FUZZ_OPERATOR_TOKEN: OPERATOR_TOKEN };
    const child = spawn(venv.schemathesis, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the API against its OpenAPI document', () => {
  it('the local runner serves the committed document at GET /v1/openapi.json', async () => {
    const served = await (await fetch(`${app.url}${OPENAPI_PATH}`)).json();
    const committed = JSON.parse(await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
    expect(served).toEqual(committed);
    expect((await fetch(`${app.url}${OPENAPI_PATH}`, { method: 'DELETE' })).status).toBe(405);
  });

  it('schemathesis: no 5xx, and every status, content type, header and body as documented', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'hb-schemathesis-'));
    let result: { code: number | null; output: string };
    try {
      result = await schemathesis(
        [
          '--config-file',
          CONFIG,
          '--no-color',
          'run',
          `${app.url}${OPENAPI_PATH}`,
          '--max-examples',
          EXAMPLES_PER_OPERATION,
          '--seed',
          SEED,
          '--workers',
          '1',
          '--request-timeout',
          '10',
          '--generation-database',
          'none',
        ],
        cwd,
      );
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
    // The report, without generated bodies (they can be megabytes).
    const report = result.output.replace(/-d '[^']{2000,}'/g, "-d '<body cut>'").slice(0, 20_000);
    expect(result.code, report).toBe(0);
    // It really ran: every operation of the document, many requests.
    const operations = Object.values(buildOpenApiDocument()['paths'] as Record<string, object>).flatMap(
      (path) => Object.keys(path),
    ).length;
    expect(operations).toBe(8);
    expect(report).toMatch(new RegExp(`Tested: ${operations}\\b`));
    expect(report).toMatch(/[1-9]\d{2,} generated/);
    expect(log.lines.filter((line) => line.level === 'error')).toEqual([]);
  }, 600_000);
});
