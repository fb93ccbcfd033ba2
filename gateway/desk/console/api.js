// The desk API from the consoles: bearer token in sessionStorage, answers in the console's
// language (Accept-Language), errors as ApiError naming the fields; live updates as
// server-sent events read from a fetch stream (so the token travels in the header).
import { currentLang, has, sleep, t } from "./util.js";

const TOKEN_KEY = "custody-desk-token";
let token = sessionStorage.getItem(TOKEN_KEY);
let onUnauthorized = () => {};
let streamAbort = null;

export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }
export function loggedIn() { return Boolean(token); }
export function setToken(value) {
  token = value;
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }

  // [{field, text}] in the console's language (the server words `msg` in it already).
  problems() {
    const detail = this.body && this.body.detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => {
        const loc = Array.isArray(d.loc) ? d.loc : [];
        const field = loc.length > 1 ? String(loc[loc.length - 1]) : null;
        return { field, text: String(d.msg ?? "") };
      });
    }
    if (typeof detail === "string") return [{ field: null, text: detail }];
    return [{ field: null, text: t("error.http", { status: this.status }) }];
  }
}

function headers(extra = {}) {
  const h = { Accept: "application/json", "Accept-Language": currentLang(), ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

export async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    throw new ApiError(0, { detail: t("error.network") });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (response.status === 401 && path !== "/desk/v1/login") onUnauthorized();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Field label for an error: the form's own label when the catalogue has one.
export function fieldLabel(field) {
  return field && has(`f.${field}`) ? t(`f.${field}`) : field;
}

export async function liveStream(onEvent, onState) {
  if (streamAbort) streamAbort.abort();
  const abort = new AbortController();
  streamAbort = abort;
  while (token && !abort.signal.aborted) {
    try {
      const response = await fetch("/desk/v1/stream", { headers: headers({ Accept: "text/event-stream" }), signal: abort.signal });
      if (response.status === 401) { onUnauthorized(); return; }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onState(true);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trim());
          }
          if (data.length) onEvent(type, JSON.parse(data.join("\n")));
        }
      }
    } catch (exc) {
      if (abort.signal.aborted) return;
    }
    onState(false);
    await sleep(2000); // reconnect; the consoles reload their views on reconnect
  }
}

export function stopStream() {
  if (streamAbort) streamAbort.abort();
  streamAbort = null;
}
