// JSON helpers shared by the generators: the Json object type and a deep copy through JSON.

export type Json = Record<string, unknown>;

export const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
