import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT, lockedVersion } from './project.js';

/**
 * The Couchbase SDK is a native addon: its JavaScript loads a prebuilt binary from the optional
 * package `@couchbase/couchbase-<platform>-<arch>-napi` that matches the *running* machine. `npm ci`
 * on a developer's x64 machine installs only the x64 one, so the bundle gets its own install, made
 * for the Lambda's platform: Amazon Linux 2023 (glibc) on arm64.
 *
 * `afterBundling` runs this file as a script with the bundle's output directory. It installs
 * `couchbase@<version in package-lock.json>` once per version into a cache under
 * `node_modules/.cache`, then copies the result next to `index.mjs`. The cache makes the three
 * functions (and repeated synths) cost one `npm install`; it is filled through a temporary
 * directory and a rename, so an interrupted install never leaves a half-filled cache behind.
 */
export const LAMBDA_PLATFORM = { os: 'linux', cpu: 'arm64', libc: 'glibc' } as const;

/** The package that must end up in the bundle, and the binary's name pattern inside it. */
export const COUCHBASE_BINARY_PACKAGE = `@couchbase/couchbase-${LAMBDA_PLATFORM.os}-${LAMBDA_PLATFORM.cpu}-napi`;

/**
 * Removed after install: C++ sources, only used to build the addon when no prebuilt binary fits
 * (72 MB of the 123 MB install), and the musl binary, which npm installs too because its package
 * does not declare `libc` (Lambda runs glibc). Smaller code means a faster cold start.
 */
const PRUNE = ['couchbase/deps', 'couchbase/src', '@couchbase/couchbase-linuxmusl-arm64-napi'];

const SELF = fileURLToPath(import.meta.url);

/** The shell command `afterBundling` runs; `tsx` is how this project runs TypeScript scripts. */
export function couchbaseInstallCommand(outputDir: string): string {
  return [process.execPath, '--import', 'tsx', SELF, outputDir].map(shellQuote).join(' ');
}

export function couchbaseCacheDir(version: string): string {
  const { os, cpu, libc } = LAMBDA_PLATFORM;
  return path.join(
    PROJECT_ROOT,
    'node_modules',
    '.cache',
    'heartbeat-couchbase',
    `${version}-${os}-${cpu}-${libc}`,
  );
}

/** Puts `node_modules/couchbase` (with the linux-arm64 binary) into `outputDir`. */
export function installCouchbase(outputDir: string): void {
  const version = lockedVersion('couchbase');
  const cache = couchbaseCacheDir(version);
  if (!hasBinary(cache)) fillCache(cache, version);
  cpSync(path.join(cache, 'node_modules'), path.join(outputDir, 'node_modules'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  if (!hasBinary(outputDir)) throw new Error(`no ${COUCHBASE_BINARY_PACKAGE} binary in ${outputDir}`);
}

function fillCache(cache: string, version: string): void {
  mkdirSync(path.dirname(cache), { recursive: true });
  const staging = mkdtempSync(`${cache}.tmp-`);
  try {
    execFileSync(
      'npm',
      [
        'install',
        `couchbase@${version}`,
        '--prefix',
        staging,
        `--os=${LAMBDA_PLATFORM.os}`,
        `--cpu=${LAMBDA_PLATFORM.cpu}`,
        `--libc=${LAMBDA_PLATFORM.libc}`,
        // The install script would look for (or build) a binary for *this* machine: not wanted.
        '--ignore-scripts',
        '--no-save',
        '--no-package-lock',
        '--omit=dev',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ],
      // stdout is the synth's template output when run by `cdk synth`: keep npm's chatter off it.
      { cwd: staging, stdio: ['ignore', process.stderr, process.stderr] },
    );
    for (const dir of PRUNE)
      rmSync(path.join(staging, 'node_modules', dir), { recursive: true, force: true });
    if (!hasBinary(staging)) throw new Error(`npm did not install ${COUCHBASE_BINARY_PACKAGE}@${version}`);
    try {
      renameSync(staging, cache);
    } catch (error) {
      // Another synth filled the cache first; theirs is as good as ours.
      if (!hasBinary(cache)) throw error;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function hasBinary(root: string): boolean {
  const dir = path.join(root, 'node_modules', COUCHBASE_BINARY_PACKAGE);
  return existsSync(dir) && readdirSync(dir).some((file) => file.endsWith('.node'));
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

// Run as a script by the bundling hook: `node --import tsx cdk/couchbase-native.ts <outputDir>`.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF) {
  const outputDir = process.argv[2];
  if (outputDir === undefined) throw new Error('usage: couchbase-native.ts <bundle output directory>');
  installCouchbase(outputDir);
}
