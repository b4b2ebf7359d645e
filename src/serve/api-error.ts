// Errors in the OpenAI API's shape, so clients (the official SDKs among them) show
// their message: {"error": {"message", "type", "param", "code"}}.

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error';

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** A request the server refuses (4xx) or cannot serve now (503): status plus the OpenAI error body. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 405 | 413 | 429 | 500 | 503,
    message: string,
    readonly type: ApiErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * The client closed its connection before its request body arrived whole: nobody is left to answer, and nothing
 * went wrong in the server. The server logs it as one line, not as a stack trace.
 */
export class ClientGone extends Error {}
