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

/** Sends a request and returns the JSON body; any failure becomes an ApiError with a readable message. */
export async function requestJson(url, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
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
    throw new ApiError(message, { code: error.code, field: error.field, status: response.status });
  }
  return data;
}

/** A random key for the Idempotency-Key header; crypto.randomUUID needs HTTPS, getRandomValues does not. */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
