import { builder } from './builder.ts';
import './apiKey.ts';
import './article.ts';
import './articleMutations.ts';
import './author.ts';
import './facets.ts';
import './topic.ts';
import './viewer.ts';

export const schema = builder.toSchema({ sortSchema: true });
