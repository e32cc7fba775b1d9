/** Development tokens in the portal's shape (`user.id`), signed like the portal signs them. */
import { SignJWT } from 'jose';

export function portalToken(userId: string, secret: string, ttlSeconds = 3600): Promise<string> {
  const id = /^[1-9]\d*$/.test(userId) && Number.isSafeInteger(Number(userId)) ? Number(userId) : userId;
  return new SignJWT({ user: { id } })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}
