'use strict';
/* global module */
/*
 * Bundled in place of the Couchbase SDK when the stack deploys with persistence=dynamodb (see
 * cdk/bundling.ts). The functions import the Couchbase adapter only when PERSISTENCE=couchbase,
 * but esbuild's single-file ESM output hoists every static import of an external package to the
 * top of the bundle, where a missing `couchbase` would stop the function at start-up. Resolving
 * the name to this empty module keeps that import harmless; nothing here is ever called.
 */
module.exports = {};
