import fs from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * Structure the code keeps (ARCHITECTURE.md): no import cycles in src/, and a docstring on every
 * exported function, class, type and constant, so that a reader meets shapes, units and errors
 * where a name is declared.
 */

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

describe('architecture', () => {
  it('has no import cycles in src/ (type-only imports included)', async () => {
    const graph = await madge(src, {
      fileExtensions: ['ts'],
      tsConfig: path.join(root, 'tsconfig.json'),
      excludeRegExp: [/generated/],
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    expect(graph.circular()).toEqual([]);
    // the graph is real: the server reaches the list engine through the schema
    expect(Object.keys(graph.obj())).toContain('resolvers/lists/filter.ts');
  }, 60_000);

  it('documents every export of src/ where it is declared', () => {
    const missing: string[] = [];
    for (const file of sourceFiles(src)) {
      const text = fs.readFileSync(file, 'utf8');
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      for (const statement of source.statements) {
        const exported = ts.canHaveModifiers(statement)
          ? ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
          : false;
        if (!exported || ts.isExportDeclaration(statement)) continue;
        const documented =
          ts.getJSDocCommentsAndTags(statement).length > 0 ||
          /\/\*\*[\s\S]*?\*\/\s*$/.test(text.slice(0, statement.getStart()));
        if (!documented) {
          const line = source.getLineAndCharacterOfPosition(statement.getStart()).line + 1;
          missing.push(`${path.relative(root, file)}:${line}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
