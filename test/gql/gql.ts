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
    "\n  query Authors($filter: AuthorFilter, $orderBy: [NamedOrder!], $first: Int, $after: String) {\n    authors(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          name\n          articleCount\n        }\n      }\n    }\n  }\n": typeof types.AuthorsDocument,
    "\n  query Topics($filter: TopicFilter, $orderBy: [NamedOrder!], $first: Int, $last: Int, $before: String) {\n    topics(filter: $filter, orderBy: $orderBy, first: $first, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n      edges {\n        node {\n          name\n          slug\n          articleCount\n        }\n      }\n    }\n  }\n": typeof types.TopicsDocument,
    "\n  query AuthorArticles($id: ID!, $filter: ArticleFilter, $first: Int, $after: String, $last: Int, $before: String) {\n    author(id: $id) {\n      name\n      articles(filter: $filter, first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          node {\n            url\n            authors {\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.AuthorArticlesDocument,
    "\n  query TopicArticles($slug: String!, $filter: ArticleFilter, $orderBy: [ArticleOrder!], $first: Int) {\n    topic(slug: $slug) {\n      articles(filter: $filter, orderBy: $orderBy, first: $first) {\n        totalCount\n        edges {\n          node {\n            url\n            priority\n          }\n        }\n      }\n    }\n  }\n": typeof types.TopicArticlesDocument,
    "\n  query ArticlesWithRelations($first: Int!) {\n    articles(first: $first, filter: { priority: { gte: 1 } }) {\n      totalCount\n      edges {\n        node {\n          title\n          authors {\n            name\n            articleCount\n          }\n          topics {\n            name\n            slug\n          }\n        }\n      }\n    }\n  }\n": typeof types.ArticlesWithRelationsDocument,
    "\n  query AuthorsWithArticles($first: Int!) {\n    authors(first: $first, orderBy: [{ field: ARTICLE_COUNT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5) {\n            totalCount\n            edges {\n              node {\n                title\n                publishedAt\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.AuthorsWithArticlesDocument,
    "\n  query TopicsWithArticles($first: Int!) {\n    topics(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5, filter: { priority: { gte: 2 } }) {\n            totalCount\n            edges {\n              node {\n                title\n                authors {\n                  name\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.TopicsWithArticlesDocument,
    "\n  query Nodes($ids: [ID!]!) {\n    nodes(ids: $ids) {\n      id\n      ... on Article {\n        title\n        authors {\n          name\n        }\n      }\n    }\n  }\n": typeof types.NodesDocument,
    "\n  query Titles($filter: ArticleFilter) {\n    articles(filter: $filter, first: 100, orderBy: [{ field: TITLE }]) {\n      totalCount\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n": typeof types.TitlesDocument,
    "\n  query FilteredArticles($filter: ArticleFilter, $first: Int) {\n    articles(filter: $filter, first: $first) {\n      totalCount\n      edges {\n        node {\n          url\n        }\n      }\n    }\n  }\n": typeof types.FilteredArticlesDocument,
    "\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n": typeof types.ArticleByUrlDocument,
    "\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n": typeof types.ArticleByIdDocument,
    "\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n": typeof types.NodeByIdDocument,
    "\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n": typeof types.AuthorByIdDocument,
    "\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n": typeof types.TopicBySlugDocument,
    "\n  query MaskedTitles {\n    articles(first: 5) {\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n": typeof types.MaskedTitlesDocument,
    "\n  query Page(\n    $filter: ArticleFilter\n    $orderBy: [ArticleOrder!]\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n  ) {\n    articles(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          url\n          priority\n          title\n        }\n      }\n    }\n  }\n": typeof types.PageDocument,
};
const documents: Documents = {
    "\n  query Authors($filter: AuthorFilter, $orderBy: [NamedOrder!], $first: Int, $after: String) {\n    authors(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          name\n          articleCount\n        }\n      }\n    }\n  }\n": types.AuthorsDocument,
    "\n  query Topics($filter: TopicFilter, $orderBy: [NamedOrder!], $first: Int, $last: Int, $before: String) {\n    topics(filter: $filter, orderBy: $orderBy, first: $first, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n      edges {\n        node {\n          name\n          slug\n          articleCount\n        }\n      }\n    }\n  }\n": types.TopicsDocument,
    "\n  query AuthorArticles($id: ID!, $filter: ArticleFilter, $first: Int, $after: String, $last: Int, $before: String) {\n    author(id: $id) {\n      name\n      articles(filter: $filter, first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          node {\n            url\n            authors {\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n": types.AuthorArticlesDocument,
    "\n  query TopicArticles($slug: String!, $filter: ArticleFilter, $orderBy: [ArticleOrder!], $first: Int) {\n    topic(slug: $slug) {\n      articles(filter: $filter, orderBy: $orderBy, first: $first) {\n        totalCount\n        edges {\n          node {\n            url\n            priority\n          }\n        }\n      }\n    }\n  }\n": types.TopicArticlesDocument,
    "\n  query ArticlesWithRelations($first: Int!) {\n    articles(first: $first, filter: { priority: { gte: 1 } }) {\n      totalCount\n      edges {\n        node {\n          title\n          authors {\n            name\n            articleCount\n          }\n          topics {\n            name\n            slug\n          }\n        }\n      }\n    }\n  }\n": types.ArticlesWithRelationsDocument,
    "\n  query AuthorsWithArticles($first: Int!) {\n    authors(first: $first, orderBy: [{ field: ARTICLE_COUNT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5) {\n            totalCount\n            edges {\n              node {\n                title\n                publishedAt\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n": types.AuthorsWithArticlesDocument,
    "\n  query TopicsWithArticles($first: Int!) {\n    topics(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5, filter: { priority: { gte: 2 } }) {\n            totalCount\n            edges {\n              node {\n                title\n                authors {\n                  name\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n": types.TopicsWithArticlesDocument,
    "\n  query Nodes($ids: [ID!]!) {\n    nodes(ids: $ids) {\n      id\n      ... on Article {\n        title\n        authors {\n          name\n        }\n      }\n    }\n  }\n": types.NodesDocument,
    "\n  query Titles($filter: ArticleFilter) {\n    articles(filter: $filter, first: 100, orderBy: [{ field: TITLE }]) {\n      totalCount\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n": types.TitlesDocument,
    "\n  query FilteredArticles($filter: ArticleFilter, $first: Int) {\n    articles(filter: $filter, first: $first) {\n      totalCount\n      edges {\n        node {\n          url\n        }\n      }\n    }\n  }\n": types.FilteredArticlesDocument,
    "\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n": types.ArticleByUrlDocument,
    "\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n": types.ArticleByIdDocument,
    "\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n": types.NodeByIdDocument,
    "\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n": types.AuthorByIdDocument,
    "\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n": types.TopicBySlugDocument,
    "\n  query MaskedTitles {\n    articles(first: 5) {\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n": types.MaskedTitlesDocument,
    "\n  query Page(\n    $filter: ArticleFilter\n    $orderBy: [ArticleOrder!]\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n  ) {\n    articles(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          url\n          priority\n          title\n        }\n      }\n    }\n  }\n": types.PageDocument,
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
export function graphql(source: "\n  query Authors($filter: AuthorFilter, $orderBy: [NamedOrder!], $first: Int, $after: String) {\n    authors(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          name\n          articleCount\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Authors($filter: AuthorFilter, $orderBy: [NamedOrder!], $first: Int, $after: String) {\n    authors(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        node {\n          id\n          name\n          articleCount\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Topics($filter: TopicFilter, $orderBy: [NamedOrder!], $first: Int, $last: Int, $before: String) {\n    topics(filter: $filter, orderBy: $orderBy, first: $first, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n      edges {\n        node {\n          name\n          slug\n          articleCount\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Topics($filter: TopicFilter, $orderBy: [NamedOrder!], $first: Int, $last: Int, $before: String) {\n    topics(filter: $filter, orderBy: $orderBy, first: $first, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasPreviousPage\n        startCursor\n      }\n      edges {\n        node {\n          name\n          slug\n          articleCount\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuthorArticles($id: ID!, $filter: ArticleFilter, $first: Int, $after: String, $last: Int, $before: String) {\n    author(id: $id) {\n      name\n      articles(filter: $filter, first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          node {\n            url\n            authors {\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuthorArticles($id: ID!, $filter: ArticleFilter, $first: Int, $after: String, $last: Int, $before: String) {\n    author(id: $id) {\n      name\n      articles(filter: $filter, first: $first, after: $after, last: $last, before: $before) {\n        totalCount\n        pageInfo {\n          hasNextPage\n          hasPreviousPage\n          startCursor\n          endCursor\n        }\n        edges {\n          node {\n            url\n            authors {\n              name\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TopicArticles($slug: String!, $filter: ArticleFilter, $orderBy: [ArticleOrder!], $first: Int) {\n    topic(slug: $slug) {\n      articles(filter: $filter, orderBy: $orderBy, first: $first) {\n        totalCount\n        edges {\n          node {\n            url\n            priority\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query TopicArticles($slug: String!, $filter: ArticleFilter, $orderBy: [ArticleOrder!], $first: Int) {\n    topic(slug: $slug) {\n      articles(filter: $filter, orderBy: $orderBy, first: $first) {\n        totalCount\n        edges {\n          node {\n            url\n            priority\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ArticlesWithRelations($first: Int!) {\n    articles(first: $first, filter: { priority: { gte: 1 } }) {\n      totalCount\n      edges {\n        node {\n          title\n          authors {\n            name\n            articleCount\n          }\n          topics {\n            name\n            slug\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ArticlesWithRelations($first: Int!) {\n    articles(first: $first, filter: { priority: { gte: 1 } }) {\n      totalCount\n      edges {\n        node {\n          title\n          authors {\n            name\n            articleCount\n          }\n          topics {\n            name\n            slug\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuthorsWithArticles($first: Int!) {\n    authors(first: $first, orderBy: [{ field: ARTICLE_COUNT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5) {\n            totalCount\n            edges {\n              node {\n                title\n                publishedAt\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuthorsWithArticles($first: Int!) {\n    authors(first: $first, orderBy: [{ field: ARTICLE_COUNT, direction: DESC }]) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5) {\n            totalCount\n            edges {\n              node {\n                title\n                publishedAt\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TopicsWithArticles($first: Int!) {\n    topics(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5, filter: { priority: { gte: 2 } }) {\n            totalCount\n            edges {\n              node {\n                title\n                authors {\n                  name\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query TopicsWithArticles($first: Int!) {\n    topics(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          articleCount\n          articles(first: 5, filter: { priority: { gte: 2 } }) {\n            totalCount\n            edges {\n              node {\n                title\n                authors {\n                  name\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Nodes($ids: [ID!]!) {\n    nodes(ids: $ids) {\n      id\n      ... on Article {\n        title\n        authors {\n          name\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Nodes($ids: [ID!]!) {\n    nodes(ids: $ids) {\n      id\n      ... on Article {\n        title\n        authors {\n          name\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Titles($filter: ArticleFilter) {\n    articles(filter: $filter, first: 100, orderBy: [{ field: TITLE }]) {\n      totalCount\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Titles($filter: ArticleFilter) {\n    articles(filter: $filter, first: 100, orderBy: [{ field: TITLE }]) {\n      totalCount\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query FilteredArticles($filter: ArticleFilter, $first: Int) {\n    articles(filter: $filter, first: $first) {\n      totalCount\n      edges {\n        node {\n          url\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query FilteredArticles($filter: ArticleFilter, $first: Int) {\n    articles(filter: $filter, first: $first) {\n      totalCount\n      edges {\n        node {\n          url\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n"): (typeof documents)["\n  query ArticleByUrl($url: String!) {\n    article(url: $url) {\n      id\n      title\n      url\n      source\n      publishedAt\n      createdAt\n      priority\n      isAustralian\n      description\n      summary\n      body\n      authors {\n        id\n        name\n      }\n      topics {\n        name\n        slug\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n"): (typeof documents)["\n  query ArticleById($id: ID!) {\n    article(id: $id) {\n      id\n      title\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n"): (typeof documents)["\n  query NodeById($id: ID!) {\n    node(id: $id) {\n      __typename\n      id\n      ... on Article {\n        title\n      }\n      ... on Author {\n        name\n      }\n      ... on Topic {\n        slug\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n"): (typeof documents)["\n  query AuthorById($id: ID!) {\n    author(id: $id) {\n      name\n      articleCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n"): (typeof documents)["\n  query TopicBySlug($slug: String, $id: ID) {\n    topic(slug: $slug, id: $id) {\n      id\n      name\n      articleCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MaskedTitles {\n    articles(first: 5) {\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query MaskedTitles {\n    articles(first: 5) {\n      edges {\n        node {\n          title\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Page(\n    $filter: ArticleFilter\n    $orderBy: [ArticleOrder!]\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n  ) {\n    articles(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          url\n          priority\n          title\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Page(\n    $filter: ArticleFilter\n    $orderBy: [ArticleOrder!]\n    $first: Int\n    $after: String\n    $last: Int\n    $before: String\n  ) {\n    articles(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          url\n          priority\n          title\n        }\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;