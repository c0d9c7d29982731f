// The one place that knows where the API lives and what its errors look like.

const apiBase = document.body.dataset.api || "/api/v1";

/** An absolute-path URL for an API route, so the page also works under a path prefix. */
export function apiUrl(path) {
  return apiBase + path;
}

/** A failed API call, carrying the API's error code and the form field it concerns. */
export class ApiError extends Error {
  constructor(message, { code = "error", field = null, status = 0 } = {}) {
    super(message);
    this.code = code;
    this.field = field;
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Registers what to do when the API refuses the session (HTTP 401): the page asks for a key. */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/**
 * Sends a request and returns the JSON body (null when there is none); any failure becomes an
 * ApiError with a readable message. The session cookie rides along (same origin only); a 401
 * also calls the whenUnauthorized handler, unless `signInOnRefusal` is false.
 */
export async function requestJson(url, { method = "GET", body, headers = {}, signInOnRefusal = true } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (body instanceof Blob) {
    // A file (an intro or outro clip): sent as it is; the server tells its format by content.
    init.body = body;
    init.headers["Content-Type"] = body.type || "application/octet-stream";
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", { code: "network" });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    // The API answers {"error": {code, message, field}}; a proxy in front may answer HTML instead.
    const error = data?.error ?? {};
    const message = error.message || `The server refused the request (HTTP ${response.status}).`;
    const failure = new ApiError(message, { code: error.code, field: error.field, status: response.status });
    if (response.status === 401 && signInOnRefusal) onUnauthorized(failure);
    throw failure;
  }
  return data;
}

/** A random key for the Idempotency-Key header; crypto.randomUUID needs HTTPS, getRandomValues does not. */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
