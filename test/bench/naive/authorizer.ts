/**
 * The naive authorizer, as a quickstart-style server does it: the whole `twilio` package
 * loaded at start (one server file serves every route), the bearer token verified with
 * `jsonwebtoken` (twilio's own dependency) and the secret string.
 */
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import jwt from 'jsonwebtoken';
// A quickstart's one server file requires twilio for every route, this one included.
import 'twilio';

export async function handler(event: APIGatewayRequestAuthorizerEventV2) {
  const token = (event.headers?.authorization ?? '').replace(/^Bearer /, '');
  try {
    const claims = jwt.verify(token, process.env.JWT_SECRET as string, { algorithms: ['HS256'] }) as {
      user: { id: number | string };
    };
    return { isAuthorized: true, context: { userId: String(claims.user.id) } };
  } catch {
    return { isAuthorized: false };
  }
}
