import { graphql } from './gql/index.ts';

/** The newest articles, with their byline and topics: a frontend's home page. */
export const LatestArticles = graphql(`
  query LatestArticles($first: Int!, $minPriority: Int) {
    articles(first: $first, filter: { priority: { gte: $minPriority } }) {
      totalCount
      edges {
        node {
          id
          title
          source
          publishedAt
          priority
          authors {
            name
          }
          topics {
            name
            slug
          }
        }
      }
    }
  }
`);

/** One topic's page: the topic and its newest articles. */
export const TopicPage = graphql(`
  query TopicPage($slug: String!, $first: Int!) {
    topic(slug: $slug) {
      name
      articleCount
      articles(first: $first) {
        edges {
          node {
            title
            publishedAt
          }
        }
      }
    }
  }
`);
