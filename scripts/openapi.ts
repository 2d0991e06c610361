/**
 * Writes the API's OpenAPI document, generated from the schemas, to docs/openapi.json. Run it
 * after changing a schema: test/unit/openapi.test.ts fails while the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from '../functions/http/openapi.js';

const target = new URL('../docs/openapi.json', import.meta.url);
writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
