import type { ApiResult } from './api.ts';
import { errorState, unavailable } from './dom.ts';

/** What a view gets: who is signed in, and a way to register work stopped when the view is left. */
export type ViewContext = {
  sub: string;
  role: string;
  cohorts: string[];
  /** The route's argument (e.g. the topic of #/mastery/{topic}). */
  arg: string;
  onLeave(stop: () => void): void;
  /** Re-renders the current view (a retry). */
  reload(): void;
};

export type View = (ctx: ViewContext) => Promise<HTMLElement>;

/** The element for a failed call: "not available yet" for 501/404, an error with a retry otherwise. */
export function failure(
  result: Exclude<ApiResult<unknown>, { kind: 'ok' }>,
  what: string,
  ctx: ViewContext,
): HTMLElement {
  if (result.kind === 'unavailable') return unavailable(what, `HTTP ${result.status}: ${result.message}`);
  return errorState(result.message, () => ctx.reload());
}
