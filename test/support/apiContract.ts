/**
 * The API contract (`infra/openapi.json`) as a checker: does one HTTP response match what
 * the document says the operation answers — a documented status, the documented headers,
 * a documented media type, and a body valid against its schema? Schemas are compiled once
 * with Ajv's JSON Schema 2020-12 validator (OpenAPI 3.1's dialect), in strict mode, so a
 * typo in the document fails too.
 *
 * Requests that match no operation are checked against the document's
 * `x-unrouted-responses` (API Gateway's own 404, and its 400/413 before any route).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

export const OPENAPI_PATH = new URL('../../infra/openapi.json', import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked generically.
type Node = any;

export interface ContractResponse {
  status: number;
  /** Names in any case; a repeated header as an array. */
  headers: Record<string, string | string[] | number | undefined>;
  body: string | Buffer;
}

const SCHEMAS_ID = 'urn:voice-service:openapi:schemas';
const SCHEMA_REF = '#/components/schemas/';

/** `#/components/schemas/X` → the registered `$defs/X`, everywhere in a schema. */
function rebase(schema: Node): Node {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) =>
      key === '$ref' && typeof value === 'string' && value.startsWith(SCHEMA_REF)
        ? [key, `${SCHEMAS_ID}#/$defs/${value.slice(SCHEMA_REF.length)}`]
        : [key, rebase(value)],
    ),
  );
}

const essence = (contentType: string) => (contentType.split(';')[0] ?? '').trim().toLowerCase();
const isJson = (mediaType: string) => /^application\/(.+\+)?json$/.test(mediaType);
const describeErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`).join('; ');

export class ApiContract {
  readonly document: Node;
  private readonly ajv: Ajv2020;
  private readonly compiled = new WeakMap<object, ValidateFunction>();

  constructor(document: Node) {
    this.document = document;
    // Strict: unknown keywords and type-less keywords are errors. OpenAPI adds four keywords of its own.
    this.ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
    this.ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);
    this.ajv.addSchema({ $id: SCHEMAS_ID, $defs: rebase(document.components?.schemas ?? {}) });
  }

  /** Compiles every schema the document holds (components and inline): throws on the first bad one. */
  compileAll(): number {
    let count = 0;
    this.ajv.getSchema(SCHEMAS_ID);
    for (const name of Object.keys(this.document.components?.schemas ?? {})) {
      this.ajv.getSchema(`${SCHEMAS_ID}#/$defs/${name}`);
      count += 1;
    }
    const visit = (node: Node) => {
      if (node === null || typeof node !== 'object') return;
      if (node.schema && typeof node.schema === 'object') {
        this.validator(node.schema);
        count += 1;
      }
      for (const [key, value] of Object.entries(node)) if (key !== 'schema' && key !== 'components') visit(value);
    };
    visit(this.document);
    for (const group of ['responses', 'headers', 'parameters']) visit(this.document.components?.[group]);
    return count;
  }

  /** A `$ref` of the document (`#/components/responses/X`), resolved until it is no reference. */
  resolve(node: Node): Node {
    let current = node;
    for (let depth = 0; current?.$ref !== undefined; depth += 1) {
      const ref: string = current.$ref;
      if (!ref.startsWith('#/') || depth > 10) throw new Error(`Cannot resolve ${ref}`);
      current = ref
        .slice(2)
        .split('/')
        .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
        .reduce((at: Node, part) => at?.[part], this.document);
      if (current === undefined) throw new Error(`${ref} is not in the document`);
    }
    return current;
  }

  private validator(schema: object): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(rebase(schema));
      this.compiled.set(schema, validate);
    }
    return validate;
  }

  /** The operation's documented responses by status, or the unrouted ones for a method and path with none. */
  responsesFor(method: string, path: string | undefined): { label: string; responses: Record<string, Node> } {
    const rawPath = path?.split('?')[0];
    const operation = rawPath === undefined ? undefined : this.document.paths?.[rawPath]?.[method.toLowerCase()];
    if (operation) return { label: `${method.toUpperCase()} ${rawPath}`, responses: operation.responses ?? {} };
    return {
      label: `${method.toUpperCase()} ${rawPath ?? '(not a URL)'} (no route: x-unrouted-responses)`,
      responses: this.document['x-unrouted-responses'] ?? {},
    };
  }

  /** Every way `response` departs from the document; empty when it matches. */
  checkResponse(method: string, path: string | undefined, response: ContractResponse): string[] {
    const { label, responses } = this.responsesFor(method, path);
    const status = String(response.status);
    const documented = responses[status] ?? responses[`${status[0]}XX`] ?? responses.default;
    if (!documented) {
      return [`${label}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
    }
    const spec = this.resolve(documented);
    const at = `${label} ${status}`;
    const violations: string[] = [];
    const headers = new Map(
      Object.entries(response.headers)
        .filter(([, value]) => value !== undefined)
        .map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value)]),
    );

    for (const [name, reference] of Object.entries<Node>(spec.headers ?? {})) {
      // OpenAPI: a Content-Type header entry is ignored; the media types below say it.
      if (name.toLowerCase() === 'content-type') continue;
      const header = this.resolve(reference);
      const value = headers.get(name.toLowerCase());
      if (value === undefined) {
        if (header.required) violations.push(`${at}: header ${name} is required but missing`);
        continue;
      }
      if (header.schema) {
        const validate = this.validator(header.schema);
        if (!validate(value))
          violations.push(`${at}: header ${name}: ${JSON.stringify(value)} ${describeErrors(validate.errors)}`);
      }
    }

    const body = Buffer.isBuffer(response.body) ? response.body.toString('utf8') : response.body;
    const content: Record<string, Node> = spec.content ?? {};
    const mediaTypes = Object.keys(content);
    const contentType = headers.get('content-type');
    if (mediaTypes.length === 0) {
      if (body !== '') violations.push(`${at}: documented without a body, but has ${body.length} characters`);
      return violations;
    }
    if (contentType === undefined) {
      violations.push(`${at}: no Content-Type (documented: ${mediaTypes.join(', ')})`);
      return violations;
    }
    const mediaType = essence(contentType);
    const matched = mediaTypes.find((m) => {
      const documentedType = essence(m);
      return (
        documentedType === mediaType ||
        (documentedType.endsWith('/*') && mediaType.startsWith(documentedType.slice(0, -1)))
      );
    });
    if (matched === undefined) {
      violations.push(`${at}: Content-Type ${contentType} is not documented (documented: ${mediaTypes.join(', ')})`);
      return violations;
    }
    const schema = content[matched].schema;
    if (!schema) return violations;
    let instance: unknown = body;
    if (isJson(mediaType)) {
      try {
        instance = JSON.parse(body);
      } catch {
        violations.push(`${at}: the ${mediaType} body is not JSON: ${JSON.stringify(body.slice(0, 80))}`);
        return violations;
      }
    }
    const validate = this.validator(schema);
    if (!validate(instance)) {
      violations.push(`${at}: body ${JSON.stringify(body.slice(0, 200))}: ${describeErrors(validate.errors)}`);
    }
    return violations;
  }
}

let loaded: ApiContract | undefined;

/** The document in `infra/openapi.json`, read and compiled once per test file. */
export function apiContract(): ApiContract {
  loaded ??= new ApiContract(JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')));
  return loaded;
}

/** `apiContract().checkResponse(…)`, with the arguments spelled out. */
export function checkResponse(
  method: string,
  path: string | undefined,
  status: number,
  headers: ContractResponse['headers'],
  body: string | Buffer,
): string[] {
  return apiContract().checkResponse(method, path, { status, headers, body });
}
