import { type NativeAttributeValue, marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size DynamoDB bills an item by, from its attributes as the adapter writes them, by the
 * rules of the developer guide ("Item sizes and formats"): names and strings are their UTF-8
 * bytes; a number is about one byte per two significant digits plus one; booleans and null one
 * byte; a list or map 3 bytes plus 1 per element, plus its elements (and, in a map, their names).
 */
export function dynamoItemBytes(item: Record<string, NativeAttributeValue>): number {
  const attributes = marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false });
  return Object.entries(attributes).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + 1 + valueBytes(element), 0);
  if (value.M !== undefined) {
    return (
      3 +
      Object.entries(value.M).reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueBytes(element), 0)
    );
  }
  if (value.SS !== undefined) return value.SS.reduce((sum, text) => sum + utf8(text), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, number) => sum + numberBytes(number), 0);
  throw new Error(`no size rule for attribute value ${JSON.stringify(value)}`);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Significant digits, leading and trailing zeros dropped, / 2 rounded up, + 1. */
function numberBytes(text: string): number {
  const digits = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** Write request units for a write of an item: per 1 KB, of the larger of the old and new item. */
export function writeUnits(newBytes: number, oldBytes = 0): number {
  return Math.max(1, Math.ceil(Math.max(newBytes, oldBytes) / 1024));
}

/** Read request units for a strongly consistent read: per 4 KB (eventually consistent: half). */
export function readUnits(bytes: number, consistent = true): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}
