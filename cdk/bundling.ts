import path from 'node:path';
import type { BuildOptions } from 'esbuild';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { couchbaseInstallCommand } from './couchbase-native.js';
import { PROJECT_ROOT } from './project.js';

/**
 * The esbuild settings of every function, in one place so `bench/bundle.ts` builds exactly what
 * the stack deploys.
 *
 * - ESM, because the code base is ESM (`"type": "module"`) and its entry points do their set-up at
 *   module scope; ESM is also the only output in which a top-level `await` (e.g. reading a secret
 *   during init) compiles at all. The banner gives bundled CommonJS packages (parts of the SDK,
 *   Powertools' dependencies) the `require` that ESM lacks, for `node:*` built-ins.
 * - The AWS SDK v3 is bundled, not taken from the runtime: the versions that run are the ones in
 *   package-lock.json that the tests ran (the runtime's copy moves with runtime patches), the
 *   adapters' `instanceof` checks on SDK exception classes see one copy of each class, and an ESM
 *   bundle does not resolve the runtime's `/var/runtime/node_modules` anyway. `bench/bundle.ts`
 *   measures what this costs in size and cold start.
 * - `couchbase` is a native addon that esbuild cannot bundle. In Couchbase mode it stays external
 *   and `afterBundling` installs it, for linux-arm64, next to the bundle. In DynamoDB mode it is
 *   neither installed nor loaded; its name resolves to an empty stand-in (`couchbase-absent.cjs`),
 *   because the entry points import both adapters statically (see composeStore in
 *   functions/entrypoints/aws.ts) and the Couchbase one imports `couchbase` at its top.
 * - `module` before `main`, so packages that ship both (the SDK does) contribute their ES modules,
 *   which tree-shake better.
 * - Minified with source maps (without embedded sources, which would only add weight) and
 *   `NODE_OPTIONS=--enable-source-maps` on the function: stack traces point at the TypeScript.
 *   Names are kept so errors and classes in logs read as in the code.
 */
export const ESBUILD = {
  target: 'node24',
  platform: 'node',
  format: 'esm',
  outfile: 'index.mjs',
  mainFields: ['module', 'main'],
  minify: true,
  keepNames: true,
  sourcemap: true,
  sourcesContent: false,
  banner:
    "import { createRequire as __heartbeatCreateRequire } from 'node:module'; const require = __heartbeatCreateRequire(import.meta.url);",
} as const;

/** The empty module `couchbase` resolves to in DynamoDB mode. */
export const COUCHBASE_ABSENT = path.join(PROJECT_ROOT, 'cdk', 'couchbase-absent.cjs');

export type StoreBundling = 'dynamodb' | 'couchbase';

/** How `couchbase` is treated: external (and installed) in Couchbase mode, a stand-in otherwise. */
function couchbaseResolution(store: StoreBundling): { external: string[]; alias: Record<string, string> } {
  return store === 'couchbase'
    ? { external: ['couchbase'], alias: {} }
    : { external: [], alias: { couchbase: COUCHBASE_ABSENT } };
}

/** The same settings in NodejsFunction's terms. Local esbuild only: Docker is never attempted. */
export function nodejsBundling(store: StoreBundling): BundlingOptions {
  const { external, alias } = couchbaseResolution(store);
  return {
    forceDockerBundling: false,
    target: ESBUILD.target,
    format: OutputFormat.ESM,
    mainFields: [...ESBUILD.mainFields],
    // Given explicitly (even empty): NodejsFunction's default would leave `@aws-sdk/*` out.
    externalModules: external,
    minify: ESBUILD.minify,
    keepNames: ESBUILD.keepNames,
    sourceMap: ESBUILD.sourcemap,
    sourcesContent: ESBUILD.sourcesContent,
    banner: ESBUILD.banner,
    esbuildArgs: Object.fromEntries(
      Object.entries(alias).map(([name, target]) => [`--alias:${name}`, target]),
    ),
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) =>
        store === 'couchbase' ? [couchbaseInstallCommand(outputDir)] : [],
    },
  };
}

/** The same settings in esbuild's API terms, for building a bundle outside CDK. */
export function esbuildOptions(outdir: string, store: StoreBundling): BuildOptions {
  const { external, alias } = couchbaseResolution(store);
  return {
    outfile: path.join(outdir, ESBUILD.outfile),
    bundle: true,
    target: ESBUILD.target,
    platform: ESBUILD.platform,
    format: ESBUILD.format,
    mainFields: [...ESBUILD.mainFields],
    external,
    alias,
    minify: ESBUILD.minify,
    keepNames: ESBUILD.keepNames,
    sourcemap: ESBUILD.sourcemap,
    sourcesContent: ESBUILD.sourcesContent,
    banner: { js: ESBUILD.banner },
    logLevel: 'warning',
  };
}
