// The page's only door to the API: JSON over fetch, the bearer token, and visible notices.
// On a 401 the page asks for the token once (one dialog however many requests failed), keeps
// it in sessionStorage for this browser session only, and retries.

import { h, fill, uid } from './dom.js';

const TOKEN_KEY = 'rockscope.token';
/** Every request gives up after this long. */
const TIMEOUT_MS = 20000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

let pendingPrompt = null;

/** Asks for the token (one dialog at a time); resolves when a token was entered. */
function askToken(refused) {
  if (!pendingPrompt) {
    pendingPrompt = showTokenDialog(refused).finally(() => {
      pendingPrompt = null;
    });
  }
  return pendingPrompt;
}

function showTokenDialog(refused) {
  return new Promise((resolve, reject) => {
    const id = uid('token');
    const input = h('input', { id, type: 'password', name: 'token', autocomplete: 'off', required: true });
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const dialog = h('dialog', { class: 'token-dialog', 'aria-labelledby': `${id}-title` },
      h('form', { method: 'dialog' },
        h('h2', { id: `${id}-title` }, 'API token needed'),
        h('p', {}, refused
          ? 'The token was refused. Enter the API token (server.api_token).'
          : 'This rockscope asks for an API token (server.api_token). It is kept for this browser session only.'),
        h('label', { for: id }, 'Token'), input,
        h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Continue'), cancel)));
    cancel.addEventListener('click', () => dialog.close('cancel'));
    dialog.addEventListener('close', () => {
      const value = input.value.trim();
      dialog.remove();
      if (dialog.returnValue !== 'cancel' && value) {
        try {
          sessionStorage.setItem(TOKEN_KEY, value);
        } catch {
          // storage refused: the token works for this request only
        }
        resolve(value);
      } else {
        reject(new ApiError(401, 'unauthorized', 'no API token given'));
      }
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    input.focus();
  });
}

/** One JSON request; retries once per entered token on 401. */
export async function request(method, path, body) {
  let refused = false;
  for (;;) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'network', `cannot reach rockscope (${e.name === 'TimeoutError' ? 'timed out' : 'network error'})`);
    }
    if (response.status === 401) {
      if (t) {
        try {
          sessionStorage.removeItem(TOKEN_KEY);
        } catch {
          // nothing kept
        }
      }
      await askToken(refused || Boolean(t));
      refused = true;
      continue;
    }
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch {
      throw new ApiError(response.status, 'bad_response', `${method} ${path}: answer is not JSON (${response.status})`);
    }
    if (!response.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(response.status, err.code || 'error', err.message || `HTTP ${response.status}`);
    }
    return data;
  }
}

export const get = (path) => request('GET', path);

/** A non-blocking notice at the top of the page; the same text is shown once. */
export function notify(text, kind = 'error') {
  const box = document.getElementById('notices');
  if (!box) return;
  for (const existing of box.children) {
    if (existing.dataset.text === text) return;
  }
  const close = h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss notice' }, '×');
  const note = h('div', { class: `notice ${kind}`, dataset: { text } }, h('span', {}, text), close);
  close.addEventListener('click', () => note.remove());
  box.appendChild(note);
  setTimeout(() => note.remove(), kind === 'error' ? 15000 : 5000);
}

/** Removes every notice (after a successful refresh). */
export function clearNotices() {
  const box = document.getElementById('notices');
  if (box) fill(box);
}
