import { Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Every string a client sends is taken in Unicode Normalization Form C (UAX #15), before any
 * resolver sees it: "Café" typed with a combining accent (NFD) is stored, filtered and searched
 * as the precomposed "Café" filed before. One place for every argument and input field, in
 * literals and variables alike; stored text is NFC too (the name_keys migration converted what
 * was filed before).
 */

const NON_ASCII = /[^\x00-\x7f]/;

function nfc(value: string): string {
  return NON_ASCII.test(value) ? value.normalize('NFC') : value;
}

/** A copy of `value` with every string in NFC (the same object when nothing changes). */
export function normalizeDeep<T>(value: T): T {
  if (typeof value === 'string') return nfc(value) as T;
  if (Array.isArray(value)) {
    const items = value.map(normalizeDeep);
    return (items.some((item, i) => item !== value[i]) ? items : value) as T;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = normalizeDeep(item);
      if (out[key] !== item) changed = true;
    }
    return (changed ? out : value) as T;
  }
  return value;
}

/** The document with its string literals in NFC (the same document when they already are). */
function normalizeLiterals(document: DocumentNode): DocumentNode {
  // an ASCII document can still spell other characters as \u escapes
  const source = document.loc?.source.body;
  if (source !== undefined && !NON_ASCII.test(source) && !source.includes('\\u')) return document;
  return visit(document, {
    [Kind.STRING]: (node) => {
      const value = nfc(node.value);
      return value === node.value ? undefined : { ...node, value };
    },
  });
}

export function useNfcInput(): Plugin {
  return {
    onExecute({ args }) {
      args.document = normalizeLiterals(args.document);
      if (args.variableValues) args.variableValues = normalizeDeep(args.variableValues);
    },
  };
}
