import { builder } from './builder.ts';
import './apiKey.ts';
import './article.ts';
import './articleMutations.ts';
import './author.ts';
import './catalog.ts';
import './facets.ts';
import './savedSearch.ts';
import './story.ts';
import './topic.ts';
import './trash.ts';
import './viewer.ts';

/** The executable GraphQL schema: every schema module's types, sorted by name (as SDL and introspection list them). */
export const schema = builder.toSchema({ sortSchema: true });
