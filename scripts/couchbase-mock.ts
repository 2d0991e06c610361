/**
 * `npm run couchbase:mock`: runs CouchbaseMock (the Couchbase protocol server the SDK's own tests
 * use; fetched from Maven Central once) until Ctrl-C, and prints the variables that point
 * `npm start` at it. The mock has no SQL++, so the local runner cannot rebuild its schedules from
 * it after a restart (it says so at start); everything else runs as on a real server.
 */
import { startCouchbaseMock } from '../test/support/couchbase-mock.js';

console.log('starting CouchbaseMock (the first run downloads it with Maven) ...');
const mock = await startCouchbaseMock();
console.log(`CouchbaseMock is running (REST port ${mock.httpPort}). In another shell:

  COUCHBASE_CONNSTR='${mock.connectionString}' COUCHBASE_USERNAME='${mock.username}' \\
  COUCHBASE_PASSWORD='${mock.password}' COUCHBASE_BUCKET='${mock.bucket}' npm start

Ctrl-C stops it.`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    mock.stop().finally(() => process.exit(0));
  });
}
