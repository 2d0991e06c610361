/**
 * Installs what the integration tests' servers need, once per cache folder, so a fresh machine
 * fails here with a clear message rather than in the middle of a test run. The test setup
 * (test/support/global-setup.ts) calls the same functions and starts the servers.
 */
import { couchbaseMockDir, ensureCouchbaseMockJar } from '../test/support/couchbase-mock.js';
import { PYTHON_TOOLS, ensureTestVenv, testVenvDir } from '../test/support/python-venv.js';

const started = Date.now();
const tools = Object.entries(PYTHON_TOOLS)
  .map(([name, version]) => `${name} ${version}`)
  .join(', ');
console.log(`python venv (${tools}): preparing in ${testVenvDir()} ...`);
const venv = await ensureTestVenv();
console.log(
  `python venv: ready (${Object.values(venv).join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);

const mockStarted = Date.now();
console.log(`CouchbaseMock: fetching the jar into ${couchbaseMockDir()} with Maven ...`);
console.log(
  `CouchbaseMock: ready (${await ensureCouchbaseMockJar()}) in ${((Date.now() - mockStarted) / 1000).toFixed(1)} s`,
);
