/** Data calls of the dashboard: same origin, bearer token from the sign-in, errors as values. */

export type ApiResult<T> =
  | { kind: 'ok'; data: T }
  | { kind: 'unavailable'; status: number; message: string }
  | { kind: 'error'; status: number; message: string };

const TOKEN_KEY = 'studystream.token';

export function storedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* private mode: the token lives only as long as the page */
  }
  current = token;
}

let current: string | null = storedToken();

export function token(): string | null {
  return current;
}

/**
 * GET a JSON endpoint. 501 (reserved) and 404 (not built yet) are "unavailable", the view says so; any other
 * failure is an error with the API's message.
 */
export async function getJson<T = Record<string, unknown>>(path: string): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      headers: current ? { Authorization: `Bearer ${current}` } : {},
    });
  } catch (err) {
    return { kind: 'error', status: 0, message: `network error: ${(err as Error).message}` };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (res.ok) return { kind: 'ok', data: body as T };
  const message =
    (body as { error?: { message?: string } } | null)?.error?.message ?? `${res.status} ${res.statusText}`;
  if (res.status === 501 || res.status === 404) return { kind: 'unavailable', status: res.status, message };
  if (res.status === 401) window.dispatchEvent(new CustomEvent('studystream:unauthorized'));
  return { kind: 'error', status: res.status, message };
}
