import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// The functions validate with zod/mini: the same schemas as classic zod in a twentieth of the
// bundle, because checks are functions that tree-shake. It ships no messages of its own; English
// ones are set once here, where every caller's issues are turned into words.
z.config(en());

/** One problem with the input, located by an RFC 6901 JSON pointer (RFC 9457 `errors` entry). */
export interface FieldProblem {
  pointer: string;
  detail: string;
}

/** The one place zod issues become problems: problem details, configuration and secret errors. */
export function toFieldProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  return issues.map((issue) => ({ pointer: toPointer(issue.path), detail: issue.message }));
}

/** Problems as one line each, for an error message an operator reads. */
export function describeProblems(problems: readonly FieldProblem[]): string {
  return problems.map((problem) => `${problem.pointer || '/'}: ${problem.detail}`).join('; ');
}

function toPointer(path: readonly PropertyKey[]): string {
  return path.map((segment) => '/' + String(segment).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
