/**
 * The guard that makes key material unrepresentable in events: strings that refuse PEM blocks,
 * `PRIVATE KEY` and long base64 runs, and a final walk over a whole detail.
 */
import * as z from 'zod';
import { containsKeyMaterial } from '../key-material';

const KEY_MATERIAL = /PRIVATE KEY|-----BEGIN|[A-Za-z0-9+/=]{200}/;

/** True when `text` looks like it carries a PEM block, a private key or a long base64 (DER) blob. */
export function looksLikeKeyMaterial(text: string): boolean {
  return KEY_MATERIAL.test(text) || containsKeyMaterial(text);
}

export const KEY_MATERIAL_MESSAGE = 'must not contain key material, PEM blocks or long base64 data';

/** A string that can never carry key material; also expressed as a JSON Schema `pattern`. */
export function text(description: string, max = 2000) {
  return z
    .string()
    .min(1)
    .max(max)
    .regex(/^(?![\s\S]*(?:PRIVATE KEY|-----BEGIN|[A-Za-z0-9+/=]{200}))[\s\S]*$/, KEY_MATERIAL_MESSAGE)
    .meta({ description });
}

/** Every string anywhere in `value`, with its path, so the final guard can name where key material sits. */
function* strings(value: unknown, path: (string | number)[] = []): Generator<[string, (string | number)[]]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, [...path, i]);
  else if (value !== null && typeof value === 'object')
    for (const [key, item] of Object.entries(value)) {
      yield [key, path];
      yield* strings(item, [...path, key]);
    }
}

export function guardKeyMaterial(detail: unknown, ctx: z.RefinementCtx): void {
  for (const [value, path] of strings(detail)) {
    if (looksLikeKeyMaterial(value)) ctx.addIssue({ code: 'custom', message: KEY_MATERIAL_MESSAGE, path });
  }
}
