/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
  '\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n': typeof types.ArticleByUrlDocument;
  '\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n': typeof types.ArticleByIdDocument;
  '\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n': typeof types.NodeByIdDocument;
  '\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n': typeof types.AuthorByIdDocument;
  '\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n': typeof types.TopicBySlugDocument;
};
const documents: Documents = {
  '\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n':
    types.ArticleByUrlDocument,
  '\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n':
    types.ArticleByIdDocument,
  '\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n':
    types.NodeByIdDocument,
  '\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n':
    types.AuthorByIdDocument,
  '\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n':
    types.TopicBySlugDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(
  source: '\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n',
): (typeof documents)['\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n'];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(
  source: '\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n',
): (typeof documents)['\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n'];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(
  source: '\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n',
): (typeof documents)['\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n'];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(
  source: '\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n',
): (typeof documents)['\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n'];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(
  source: '\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n',
): (typeof documents)['\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n'];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> =
  TDocumentNode extends DocumentNode<infer TType, any> ? TType : never;
