/**
 * How the bench reads its results: one table row per measurement, with what it is compared
 * with, the ratio or difference its target is about, and the target (test/bench/targets.ts).
 */
import type { FunctionName } from '../../lib/functionFields.js';
import { type Bundles, FUNCTIONS, LIBRARIES_ALONE } from './cases.js';
import { median } from './coldStart.js';
import type { Scenario } from './deployedEnv.js';
import type { LibrariesAloneFunction, NaiveFunction, SdkAlone } from './extraBundles.js';
import { bytes, ms, signedMs, type TableRow, times, us } from './table.js';
import { COLD_VS_NAIVE, SDK_MARGIN_MS, STARTUP_BYTES, WARM_VS_FLOOR } from './targets.js';
import type { FloorResult, WarmResult } from './warm.js';

export interface Results extends Bundles {
  coldTimes: Map<string, number[]>;
  warm: Map<string, WarmResult>;
  sourceMapsDeployed: boolean;
  problems: string[];
}

const FLOOR_NAMES: Record<FloorResult['kind'], string> = {
  jwtVerify: 'raw HMAC-SHA256 verify of the token',
  joseVerify: 'jose jwtVerify alone (same token, same CryptoKey)',
  jwtSign: 'raw HMAC-SHA256 sign of the same JWT',
  voiceResponse: 'bare VoiceResponse, same TwiML',
  twilioSignature: 'raw HMAC-SHA1 signature check',
};

const isLibrariesAlone = (name: string): name is LibrariesAloneFunction =>
  (LIBRARIES_ALONE as readonly string[]).includes(name);
const percent = (part: number, whole: number) =>
  `${(100 * part) / whole < 0 ? '−' : ''}${Math.abs((100 * part) / whole).toFixed(0)} %`;

export function reportRows(results: Results): TableRow[] {
  const { built, naive, sdkAlone, librariesAlone, coldTimes, warm } = results;
  const medianOf = (id: string) => median(coldTimes.get(id) ?? []);
  const bare = medianOf('bare');
  const overhead = (id: string) => medianOf(id) - bare;
  const cold = (id: string) => `${ms(overhead(id))} (median ${ms(medianOf(id))})`;
  const rows: TableRow[] = [];

  for (const name of FUNCTIONS) {
    const b = built[name];
    const budget = STARTUP_BYTES[name as keyof typeof STARTUP_BYTES];
    const naiveBytes = name in naive ? `; naive ${bytes(naive[name as NaiveFunction].bytes)}` : '';
    const aloneBytes = isLibrariesAlone(name) ? `; libraries alone ${bytes(librariesAlone[name].bytes)}` : '';
    rows.push({
      measure: 'Bundle, cold-start bytes (entry + static chunks)',
      fn: name,
      value: bytes(b.startupBytes),
      reference: `AWS SDK chunks ${bytes(b.awsSdkBytes)}; other on demand ${bytes(b.otherOnDemandBytes)}${naiveBytes}${aloneBytes}`,
      result: budget ? `${((100 * b.startupBytes) / budget).toFixed(0)} % of budget` : '',
      target: budget ? `≤ ${bytes(budget)}` : '',
      ...(budget ? { met: b.startupBytes <= budget } : {}),
    });
  }

  rows.push({
    measure: 'Cold, bare `node` (nothing loaded)',
    fn: '—',
    value: `median ${ms(bare)}`,
    reference: 'subtracted from every cold row: "overhead"',
    result: '',
    target: '',
  });
  for (const name of FUNCTIONS) {
    const ratioTarget = COLD_VS_NAIVE[name as NaiveFunction];
    const ratio = ratioTarget ? overhead(`env:${name}`) / overhead(`naive:${name}`) : undefined;
    rows.push({
      measure: 'Cold (a), secrets from env: overhead',
      fn: name,
      value: cold(`env:${name}`),
      reference: ratioTarget ? `naive (twilio root): ${cold(`naive:${name}`)}` : '',
      result: ratio === undefined ? '' : `${times(ratio)} naive`,
      target: ratioTarget ? `≤ ${times(ratioTarget)} naive` : '',
      ...(ratio === undefined || ratioTarget === undefined ? {} : { met: ratio <= ratioTarget }),
    });
    if (!isLibrariesAlone(name)) continue;
    // For information: the same request, environment and rounds with the libraries alone.
    const ours = overhead(`env:${name}`);
    const alone = overhead(`librariesAlone:${name}`);
    const targetMs =
      ratioTarget === undefined
        ? ''
        : `; ≤ ${times(ratioTarget)} naive is ${ms(ratioTarget * overhead(`naive:${name}`))}`;
    rows.push({
      measure: 'Cold (a), libraries alone: overhead',
      fn: name,
      value: cold(`librariesAlone:${name}`),
      reference: `ours − libraries alone: ${signedMs(ours - alone)} (${percent(ours - alone, ours)} of ours)${targetMs}`,
      result: `${times(alone / overhead(`naive:${name}`))} naive`,
      target: '',
    });
  }
  const sdkRow = (scenario: Scenario, name: FunctionName, alone: SdkAlone, label: string, checked: boolean) => {
    const delta = medianOf(`${scenario}:${name}`) - medianOf(`env:${name}`);
    const client = overhead(`alone:${alone}`);
    rows.push({
      measure: label,
      fn: name,
      value: cold(`${scenario}:${name}`),
      reference: `${scenario === 'callLimits' ? '(c)' : '(b)'} − (a) = ${signedMs(delta)}; ${alone === 'secretsManager' ? 'SM' : 'DynamoDB'} client alone: ${ms(client)}`,
      result: `${signedMs(delta - client)} vs client alone`,
      target: checked ? `≤ +${SDK_MARGIN_MS.toFixed(1)} ms` : '',
      ...(checked ? { met: delta - client <= SDK_MARGIN_MS } : {}),
    });
  };
  for (const name of FUNCTIONS) {
    sdkRow('secretsManager', name, 'secretsManager', 'Cold (b), secrets from Secrets Manager', true);
  }
  sdkRow('callLimits', 'makeCall', 'dynamoDb', 'Cold (c), call limits on (dynalite)', true);
  sdkRow('callLimits', 'callEvents', 'dynamoDb', 'Cold (c), call limits on: slot released', false);
  rows.push({
    measure: 'Cold, SM client alone: create + GetSecretValue',
    fn: '—',
    value: cold('alone:secretsManager'),
    reference: `bundle ${bytes(sdkAlone.secretsManager.bytes)}, our build options`,
    result: '',
    target: '',
  });
  rows.push({
    measure: 'Cold, DynamoDB client alone: create + UpdateItem',
    fn: '—',
    value: cold('alone:dynamoDb'),
    reference: `bundle ${bytes(sdkAlone.dynamoDb.bytes)}, our build options`,
    result: '',
    target: '',
  });
  const deployedOverhead = overhead('env:makeCall');
  const other = overhead('sourceMaps:makeCall');
  rows.push({
    measure: results.sourceMapsDeployed
      ? 'Error location: cold (a) without --enable-source-maps'
      : 'Error location: cold (a) with NODE_OPTIONS=--enable-source-maps (the old stack)',
    fn: 'makeCall',
    value: cold('sourceMaps:makeCall'),
    reference: `as deployed: ${ms(deployedOverhead)}`,
    result: results.sourceMapsDeployed
      ? `${signedMs(other - deployedOverhead)} if dropped`
      : `${signedMs(other - deployedOverhead)}: what not setting it saves`,
    target: '',
  });

  const warmRow = (id: string, measure: string, target?: number) => {
    const result = warm.get(id) as WarmResult;
    const [floor] = result.floors;
    const ratio = floor ? result.handler.mean / floor.stats.mean : undefined;
    const sameWork = floor?.matches !== false;
    rows.push({
      measure,
      fn: id.split(':')[0] as string,
      value: `${us(result.handler.mean)} · ${us(result.handler.p99)} (n ${result.handler.n})`,
      reference: floor
        ? `${FLOOR_NAMES[floor.kind]}: ${us(floor.stats.mean)} · ${us(floor.stats.p99)}${sameWork ? '' : ' — DIFFERENT OUTPUT'}`
        : '',
      result: ratio === undefined ? '' : `${times(ratio)} floor`,
      target: target ? `≤ ${times(target)} floor` : '',
      ...(target !== undefined && ratio !== undefined ? { met: sameWork && ratio <= target } : {}),
    });
  };
  for (const name of FUNCTIONS) {
    warmRow(name, 'Warm, secrets from env, limits off: mean · p99', WARM_VS_FLOOR[name as keyof typeof WARM_VS_FLOOR]);
    const ours = warm.get(name) as WarmResult;
    // For information: further floors in our process (the authorizer's jose alone).
    for (const extra of ours.floors.slice(1)) {
      const raw = ours.floors[0] as FloorResult;
      rows.push({
        measure: `Warm floor: ${FLOOR_NAMES[extra.kind]}`,
        fn: name,
        value: `${us(extra.stats.mean)} · ${us(extra.stats.p99)} (n ${extra.stats.n})`,
        reference: `same process as ours; ${FLOOR_NAMES[raw.kind]}: ${us(raw.stats.mean)}${extra.matches ? '' : ' — DIFFERENT OUTPUT'}`,
        result: `${times(extra.stats.mean / raw.stats.mean)} floor; ours ÷ it ${times(ours.handler.mean / extra.stats.mean)}`,
        target: '',
      });
    }
    if (!isLibrariesAlone(name)) continue;
    const alone = warm.get(`librariesAlone:${name}`) as WarmResult;
    const floor = alone.floors[0] as FloorResult;
    const ourCost = ours.handler.mean - alone.handler.mean;
    rows.push({
      measure: 'Warm, libraries alone: mean · p99',
      fn: name,
      value: `${us(alone.handler.mean)} · ${us(alone.handler.p99)} (n ${alone.handler.n})`,
      reference:
        `ours − libraries alone: ${ourCost >= 0 ? '+' : '−'}${us(Math.abs(ourCost))} (${percent(ourCost, ours.handler.mean)} of ours); ` +
        `floor in its process ${us(floor.stats.mean)}${floor.matches ? '' : ' — DIFFERENT OUTPUT'}`,
      result: `${times(alone.handler.mean / floor.stats.mean)} floor`,
      target: '',
    });
  }
  warmRow('makeCall:limits', 'Warm, call limits ON (dynalite I/O; info)');
  return rows;
}
