// Errors of the data layer. Messages say what was expected, what was found and what to do, on one
// line, because the CLI prints them as they are.

/** A dataset could not be found, read, verified or used as asked. */
export class DataError extends Error {
  override name = 'DataError';
}
