import type { ZodError } from 'zod';

/**
 * An error caused by what the user asked for (a bad path, an unusable corpus,
 * a context too long for the data), not by a bug. The CLI prints the message
 * as one line and exits with `exitCode`, so messages must say both what is
 * wrong and what to do about it.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
  }
}

/** The first problem zod found, as "key.path: what is wrong" (the messages of UserErrors about config files). */
export function describeZodError(error: ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length ? issue.path.join('.') : '(top level)';
  const what =
    issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  return `${where}: ${what}`;
}
