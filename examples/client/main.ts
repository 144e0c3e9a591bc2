import { execute } from './client.ts';
import { LatestArticles, TopicPage } from './operations.ts';

/**
 * The example client, run against a server: prints the five newest articles of priority 3 or
 * more, and one topic's page. `API_URL` (default http://localhost:4000/graphql) says where.
 */
const url = process.env.API_URL ?? 'http://localhost:4000/graphql';

const latest = await execute({ url }, LatestArticles, { first: 5, minPriority: 3 });
console.log(`${latest.articles.totalCount} articles of priority 3 or more; the newest:`);
for (const { node } of latest.articles.edges) {
  console.log(
    `- ${node.publishedAt.slice(0, 10)} ${node.title} (${node.source}; ${node.authors.map((a) => a.name).join(', ')})`,
  );
}
const slug = latest.articles.edges[0]?.node.topics[0]?.slug;
if (slug) {
  const page = await execute({ url }, TopicPage, { slug, first: 3 });
  console.log(`Topic ${page.topic?.name}: ${page.topic?.articleCount} articles`);
}
