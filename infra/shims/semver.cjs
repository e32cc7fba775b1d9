/**
 * Bundled in place of `semver` (infra/bundling.ts `alias`). jsonwebtoken (inside twilio's
 * AccessToken) asks semver, when it is loaded, whether this Node has features every Node
 * since 16.9 has; the bundles run on Node 20 and later, so each answer is yes. Loading
 * semver to say so costs ≈ 5 ms of callToken's cold start (it compiles some 40 RegExps).
 * Any other question is a new jsonwebtoken asking something we have not checked: fail
 * loudly (the bundle tests load callToken and issue a token).
 */
const ANSWERED_ON_NODE_20 = new Set(['^6.12.0 || >=8.0.0', '>=15.7.0', '>=16.9.0']);

exports.satisfies = (version, range) => {
  if (!ANSWERED_ON_NODE_20.has(range)) throw new Error(`semver shim: no answer for "${range}"`);
  if (Number(/^v?(\d+)\./.exec(version)?.[1]) < 20) throw new Error(`semver shim: Node ${version} is older than 20`);
  return true;
};
