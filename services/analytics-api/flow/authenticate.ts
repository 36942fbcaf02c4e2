import { createMiddleware } from 'hono/factory';
import { AuthError, bearerToken, type TokenVerifier } from '../auth.ts';
import { ApiError } from '../errors.ts';
import type { ApiEnv } from './env.ts';

/** Authenticate: the bearer JWT becomes `principal`; anything else is a 401 (missing_token, invalid_token, token_expired). */
export function authenticate(verify: TokenVerifier) {
  return createMiddleware<ApiEnv>(async (c, next) => {
    try {
      c.set('principal', await verify(bearerToken(c.req.header('Authorization'))));
    } catch (err) {
      if (err instanceof AuthError) throw new ApiError(401, err.code, err.message);
      throw err;
    }
    await next();
  });
}
