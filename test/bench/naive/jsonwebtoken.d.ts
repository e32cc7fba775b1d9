/** jsonwebtoken ships no types and @types/jsonwebtoken is not installed: what the naive authorizer uses. */
declare module 'jsonwebtoken' {
  export function verify(token: string, secret: string, options: { algorithms: string[] }): unknown;
  const jwt: { verify: typeof verify };
  export default jwt;
}
