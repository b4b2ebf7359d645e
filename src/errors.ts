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
