import { createContextCache } from '@pothos/core';
import DataLoader from 'dataloader';

/**
 * Per-parent batching, one mechanism for all of it (nested totals, highlights): a DataLoader
 * per request and per `name` (e.g. the filter or search the loads share), made on first use.
 * Loads made in the same tick are batched into one call of the batch function, so a page of
 * parents costs one statement, not one per parent (the N+1 problem, see
 * https://github.com/graphql/dataloader).
 */

const perRequest = createContextCache(() => new Map<string, DataLoader<unknown, unknown, unknown>>());

/**
 * The request's loader named `name`, made by `make` on first use. `context` is the GraphQL
 * context object (the loader lives as long as the request).
 */
export function requestLoader<K, V, C = K>(
  context: object,
  name: string,
  make: () => DataLoader<K, V, C>,
): DataLoader<K, V, C> {
  const loaders = perRequest(context);
  let loader = loaders.get(name);
  if (!loader) {
    loader = make() as DataLoader<unknown, unknown, unknown>;
    loaders.set(name, loader);
  }
  return loader as DataLoader<K, V, C>;
}
