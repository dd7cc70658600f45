// Small fetch helpers for the Cell Explorer page: JSON requests, readable errors and an
// NDJSON (newline-delimited JSON) stream reader. No dependencies.

/** An HTTP error whose message is the server's human-readable `detail`. */
export class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = "HttpError";
    this.status = status;
  }
}

/** Builds an HttpError from a failed response, preferring the JSON body's `detail` text. */
export async function errorFromResponse(response) {
  let detail = `request failed: HTTP ${response.status}${response.statusText ? " " + response.statusText : ""}`;
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string" && body.detail) detail = body.detail;
    else if (body && body.detail) detail = JSON.stringify(body.detail);
  } catch {
    /* not JSON: keep the status line */
  }
  return new HttpError(response.status, detail);
}

export function isAbort(error) {
  return error && (error.name === "AbortError" || error.name === "TimeoutError");
}

export async function getJson(url, { signal } = {}) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, signal });
  if (!response.ok) throw await errorFromResponse(response);
  return response.json();
}

export async function postJson(url, body, { signal } = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  return response.json();
}

/**
 * POSTs `body` and calls `onLine(object)` for every JSON line of the NDJSON response as it
 * arrives. Resolves when the stream ends; rejects with HttpError for 4xx/5xx responses and
 * with an AbortError when `signal` aborts.
 */
export async function streamNdjson(url, body, { signal, onLine }) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/x-ndjson" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await errorFromResponse(response);
  if (!response.body) throw new Error("this browser cannot read streamed responses");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const emit = (line) => {
    if (line.trim()) onLine(JSON.parse(line));
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      let newline;
      while ((newline = buffer.indexOf("\n", start)) !== -1) {
        emit(buffer.slice(start, newline));
        start = newline + 1;
      }
      buffer = buffer.slice(start);
    }
    buffer += decoder.decode();
    emit(buffer);
  } finally {
    reader.releaseLock();
  }
}
