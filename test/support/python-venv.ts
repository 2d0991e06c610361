import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The Python tools the tests run, pinned: moto's Scheduler emulation changes between releases
 * (the tests assert its quirks), and schemathesis's checks do too.
 */
export const PYTHON_TOOLS = { moto: '5.2.5', schemathesis: '4.32.5' } as const;
const REQUIREMENTS = [`moto[server]==${PYTHON_TOOLS.moto}`, `schemathesis==${PYTHON_TOOLS.schemathesis}`];

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

export interface TestVenv {
  motoServer: string;
  schemathesis: string;
}

export function testVenvDir(): string {
  return path.join(process.env.HEARTBEAT_CACHE_DIR ?? path.join(REPO_ROOT, '.cache'), 'python-venv');
}

/** Creates the venv once per cache dir; rebuilt when it is missing, broken, or holds other versions. */
export async function ensureTestVenv(venv = testVenvDir()): Promise<TestVenv> {
  const bin = (name: string) => path.join(venv, 'bin', name);
  const tools = { motoServer: bin('moto_server'), schemathesis: bin('schemathesis') };
  if (
    existsSync(tools.motoServer) &&
    existsSync(tools.schemathesis) &&
    (await hasPinnedVersions(bin('python')))
  ) {
    return tools;
  }
  await rm(venv, { recursive: true, force: true });
  await mkdir(path.dirname(venv), { recursive: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
    await run(bin('pip'), ['install', '--quiet', ...REQUIREMENTS], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    // A half-built venv would be mistaken for a good one next time.
    await rm(venv, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`could not install ${REQUIREMENTS.join(' ')} into ${venv}:\n${stderr}`, { cause: err });
  }
  return tools;
}

async function hasPinnedVersions(python: string): Promise<boolean> {
  try {
    const { stdout } = await run(python, [
      '-c',
      'import importlib.metadata as m, json; print(json.dumps({"moto": m.version("moto"), "schemathesis": m.version("schemathesis")}))',
    ]);
    const installed = JSON.parse(stdout) as Record<string, string>;
    return Object.entries(PYTHON_TOOLS).every(([name, version]) => installed[name] === version);
  } catch {
    return false;
  }
}
