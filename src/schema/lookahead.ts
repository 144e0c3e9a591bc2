import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * Whether the query selects any of `names` directly under the current field (through inline
 * fragments and fragment spreads). Used to plan work a field will need, e.g. counting matches
 * in the page statement. It ignores @skip/@include, so it may say yes when the answer is no:
 * callers use it only to avoid work, never for correctness.
 */
export function selectsAny(info: GraphQLResolveInfo, names: readonly string[]): boolean {
  const visit = (set: SelectionSetNode | undefined, depth: number): boolean => {
    if (!set || depth > 10) return false;
    return set.selections.some((selection) => {
      if (selection.kind === 'Field') return names.includes(selection.name.value);
      if (selection.kind === 'InlineFragment') return visit(selection.selectionSet, depth + 1);
      return visit(info.fragments[selection.name.value]?.selectionSet, depth + 1);
    });
  };
  return info.fieldNodes.some((node) => visit(node.selectionSet, 0));
}
