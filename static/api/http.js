// fetch with readable errors, and a reader for NDJSON (newline-delimited JSON) streams.

/** An HTTP error whose message is the server's human-readable `detail`. */
export class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.name = "HttpError";
    this.status = status;
  }
}

/**
 * A failure the server reported inside a stream: once the 200 header is sent it cannot change the
 * status, so it sends a last line {"error": "..."} instead.
 */
export class StreamError extends Error {
  constructor(detail) {
    super(detail);
    this.name = "StreamError";
  }
}

async function errorFromResponse(response) {
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
  return Boolean(error) && (error.name === "AbortError" || error.name === "TimeoutError");
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

/** Splits `buffer` at newlines: the parsed complete lines, and the unfinished rest. */
export function parseLines(buffer) {
  const lines = [];
  let start = 0;
  let newline;
  while ((newline = buffer.indexOf("\n", start)) !== -1) {
    const line = buffer.slice(start, newline);
    if (line.trim()) lines.push(parseLine(line));
    start = newline + 1;
  }
  return { lines, rest: buffer.slice(start) };
}

function parseLine(line) {
  const value = JSON.parse(line);
  if (value && typeof value === "object" && typeof value.error === "string") throw new StreamError(value.error);
  return value;
}

/**
 * POSTs `body` and calls `onLines(objects)` with the JSON lines of the NDJSON response as each piece
 * of it arrives (many lines at once: one call per network read, not per line). Resolves when the
 * stream ends; rejects with HttpError for a 4xx/5xx answer, StreamError for an error line and an
 * AbortError when `signal` aborts.
 */
export async function streamNdjson(url, body, { signal, onLines }) {
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
  let rest = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parsed = parseLines(rest + decoder.decode(value, { stream: true }));
      rest = parsed.rest;
      if (parsed.lines.length) onLines(parsed.lines);
    }
    const last = parseLines(rest + decoder.decode() + "\n");
    if (last.lines.length) onLines(last.lines);
  } finally {
    reader.releaseLock();
  }
}
