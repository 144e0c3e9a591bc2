import { builder } from './builder.ts';
import './article.ts';
import './author.ts';
import './topic.ts';

export const schema = builder.toSchema({ sortSchema: true });
