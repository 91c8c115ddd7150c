import { isObject, primitiveText } from './field-coercion';

/**
 * Tags arrive as an object (`{"k": "v"}`) or as an array of pairs (`[["k", "v"]]`, what older SDKs
 * and Relay's own serialization use). Values that are numbers or booleans become their text. As in
 * Relay, a tag is dropped when its key is empty or longer than 200 characters, or its value is
 * missing, empty, not a primitive, longer than 200 characters or contains a line break.
 * The last occurrence of a key wins.
 */

export const MAX_TAG_KEY = 200;
export const MAX_TAG_VALUE = 200;

export function normalizeTags(raw: unknown): Record<string, string> {
  const entries: Array<[string, string]> = [];
  if (Array.isArray(raw)) {
    for (const pair of raw) {
      if (Array.isArray(pair) && pair.length === 2) addTag(entries, pair[0], pair[1]);
    }
  } else if (isObject(raw)) {
    for (const key of Object.keys(raw)) addTag(entries, key, raw[key]);
  }
  // fromEntries defines own properties, so a "__proto__" tag stays an ordinary tag.
  return Object.fromEntries(entries);
}

function addTag(entries: Array<[string, string]>, key: unknown, value: unknown): void {
  const k = primitiveText(key);
  const v = primitiveText(value);
  if (k === null || v === null) return;
  if (k === '' || k.length > MAX_TAG_KEY) return;
  if (v === '' || v.length > MAX_TAG_VALUE || v.includes('\n') || v.includes('\r')) return;
  entries.push([k, v]);
}
