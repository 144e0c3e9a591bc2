import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';
import { ErrorCode, UserInputError, ValidationError } from '../errors.ts';
import { textProblems } from './text.ts';

/**
 * The input boundary's last step for root mutation fields (boundary.ts checks every other
 * field's arguments before execution): a string holding a NUL or a lone surrogate anywhere in a
 * mutation's arguments refuses the mutation before its resolver runs, as a ValidationError in
 * its result (field code INVALID_CHARACTER, with the path) when its union has one, else as a
 * BAD_USER_INPUT error. Registered after the errors plugin, so the errors plugin turns the
 * ValidationError into the result.
 */

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      inputBoundary: InputBoundaryPlugin<Types>;
    }
  }
}

/**
 * The Pothos plugin registered as `inputBoundary`: wraps the resolver of each Mutation field that
 * has arguments. A NUL or lone surrogate in them (textProblems) refuses the call before it runs:
 * ValidationError (INVALID_CHARACTER per string) when the field's result union has one, else
 * UserInputError BAD_USER_INPUT naming the first.
 */
export class InputBoundaryPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override wrapResolve(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object>,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> {
    if (fieldConfig.parentType !== 'Mutation' || Object.keys(fieldConfig.args).length === 0) return resolver;
    const errorTypes = (fieldConfig.extensions?.pothosErrors ?? []) as unknown[];
    const answersValidationError = errorTypes.includes(ValidationError);
    return (parent, args, context, info) => {
      const problems = textProblems(args);
      if (!problems.length) return resolver(parent, args, context, info);
      if (answersValidationError) {
        throw new ValidationError(
          problems.map((problem) => ({ path: problem.path, code: 'INVALID_CHARACTER', message: problem.message })),
        );
      }
      const [first] = problems;
      throw new UserInputError(ErrorCode.BAD_USER_INPUT, `"${first!.path.join('.')}": ${first!.message}`, {
        argumentPath: first!.path,
      });
    };
  }
}

SchemaBuilder.registerPlugin('inputBoundary', InputBoundaryPlugin);
