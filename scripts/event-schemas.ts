/**
 * Writes one JSON Schema per event detail-type to docs/events/, generated from the schemas the
 * publishing code is typed by (functions/core/event-schemas.ts). Run it after changing one:
 * test/unit/event-schemas.test.ts fails while the committed files differ.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { eventSchemaDocuments } from '../functions/core/event-schema-documents.js';

const folder = new URL('../docs/events/', import.meta.url);
mkdirSync(folder, { recursive: true });
for (const [file, document] of Object.entries(eventSchemaDocuments())) {
  writeFileSync(new URL(file, folder), `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote docs/events/${file}`);
}
