'use strict';
/* global module */
/*
 * Bundled in place of the Couchbase SDK when the stack deploys with persistence=dynamodb (see
 * cdk/bundling.ts). The functions import the Couchbase adapter statically but use it only when
 * PERSISTENCE=couchbase; its `import ... from 'couchbase'` would stop a function without the
 * package at start-up. Resolving the name to this empty module keeps that import harmless;
 * nothing here is ever called.
 */
module.exports = {};
