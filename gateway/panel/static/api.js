// The public /api/v1 JSON API, as any client calls it: the access token in the
// Authorization header, one refresh (the refresh token rotates) when it has expired,
// and the error shape {error: {code, message, fields}} turned into an ApiError.
import { lang } from "./i18n.js";

const SESSION_KEY = "pasokh.session";
export const MAX_FILE_BYTES = 10 * 1024 * 1024; // the gateway's per-file limit

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.fields = error.fields || {};
    this.details = error;
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(data) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({
    access_token: data.access_token,
    refresh_token: data.refresh_token,
    user: data.user,
  }));
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

function headers(extra) {
  const h = { "Accept-Language": lang(), ...extra };
  const s = session();
  if (s && s.access_token) h.Authorization = `Bearer ${s.access_token}`;
  return h;
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

let refreshing = null;

// One refresh at a time: parallel 401s wait for the same new session.
async function refresh() {
  const s = session();
  if (!s || !s.refresh_token) return false;
  if (!refreshing) {
    refreshing = fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": lang() },
      body: JSON.stringify({ refresh_token: s.refresh_token }),
    })
      .then(parse)
      .then((data) => { saveSession(data); return true; })
      .catch(() => { clearSession(); return false; })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function call(method, path, { json, query } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  const send = () => fetch(url, {
    method,
    headers: headers(json !== undefined ? { "Content-Type": "application/json" } : {}),
    body: json !== undefined ? JSON.stringify(json) : undefined,
  });
  let response = await send();
  if (response.status === 401 && session() && !path.startsWith("/api/v1/auth/")) {
    if (await refresh()) response = await send();
    else {
      window.dispatchEvent(new CustomEvent("pasokh:logged-out"));
    }
  }
  return parse(response);
}

export const get = (path, query) => call("GET", path, { query });
export const post = (path, json = {}) => call("POST", path, { json });

function xhrUpload(files, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("attachments", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/attachments");
    for (const [k, v] of Object.entries(headers({}))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, null));
    xhr.send(form);
  });
}

// Files go up first (with progress), then the ticket or reply names their ids.
export async function upload(files, onProgress) {
  if (!files.length) return [];
  try {
    return (await xhrUpload(files, onProgress)).attachments;
  } catch (error) {
    if (error.status === 401 && (await refresh())) return (await xhrUpload(files, onProgress)).attachments;
    throw error;
  }
}

export function tooLarge(files) {
  return [...files].filter((f) => f.size > MAX_FILE_BYTES);
}

export async function download(attachment) {
  const send = () => fetch(`/api/v1/attachments/${attachment.attachment_id}`, { headers: headers({}) });
  let response = await send();
  if (response.status === 401 && (await refresh())) response = await send();
  if (!response.ok) return parse(response);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = attachment.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return null;
}
