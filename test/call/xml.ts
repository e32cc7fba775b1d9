/**
 * Reads TwiML with a strict XML parser (saxes: XML 1.0 well-formedness as the W3C suite
 * defines it) into a small tree, and summarises it as the TwiML shapes issue 3 allows.
 * Anything else — a parse error, a comment, CDATA, a doctype, a second verb — throws.
 */
import { SaxesParser } from 'saxes';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (its children's excluded). */
  text: string;
}

export interface XmlDocument {
  declaration: { version: string | undefined; encoding: string | undefined } | undefined;
  root: XmlElement;
}

/** XML 1.0's `Char` production. saxes checks it too, except for lone surrogates in a JS string. */
const XML_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

export function parseXml(text: string): XmlDocument {
  if (!XML_CHARS.test(text)) throw new Error('document has a character outside XML 1.0 Char');
  const parser = new SaxesParser({ xmlns: false, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let declaration: XmlDocument['declaration'];
  let failure: Error | undefined;
  const fail = (message: string) => {
    failure ??= new Error(message);
  };
  parser.on('error', (error) => fail(error.message));
  parser.on('xmldecl', (decl) => {
    declaration = { version: decl.version, encoding: decl.encoding };
  });
  parser.on('doctype', () => fail('doctype'));
  parser.on('comment', () => fail('comment'));
  parser.on('cdata', () => fail('CDATA section'));
  parser.on('processinginstruction', () => fail('processing instruction'));
  parser.on('opentag', (tag) => {
    const element: XmlElement = { name: tag.name, attributes: { ...tag.attributes }, children: [], text: '' };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('text', (data) => {
    const current = stack.at(-1);
    if (current) current.text += data;
    else if (data.trim() !== '') fail('text outside the root element');
  });
  parser.write(text).close();
  if (failure) throw failure;
  if (!root) throw new Error('no root element');
  return { declaration, root };
}

export type TwimlSummary =
  | { verb: 'Say'; text: string }
  | { verb: 'Dial'; callerId: string | undefined; timeLimit: string | undefined; number: string }
  | { verb: 'Dial'; callerId: string | undefined; timeLimit: string | undefined; client: string };

/**
 * The TwiML as issue 3 allows it: `<Response>` with exactly one verb, either `<Say>` with
 * text, or `<Dial callerId timeLimit>` with exactly one `<Number>` or `<Client>`.
 */
export function twimlSummary(xml: string): TwimlSummary {
  const { declaration, root } = parseXml(xml);
  const problem = (what: string) => new Error(`${what} in ${JSON.stringify(xml).slice(0, 300)}`);
  if (declaration?.version !== '1.0' || declaration.encoding !== 'UTF-8') throw problem('no UTF-8 XML declaration');
  if (root.name !== 'Response' || Object.keys(root.attributes).length > 0 || root.text !== '') {
    throw problem('root is not a bare <Response>');
  }
  if (root.children.length !== 1) throw problem(`${root.children.length} verbs`);
  const verb = root.children[0] as XmlElement;
  if (verb.name === 'Say') {
    if (Object.keys(verb.attributes).length > 0 || verb.children.length > 0) throw problem('<Say> with more than text');
    return { verb: 'Say', text: verb.text };
  }
  if (verb.name !== 'Dial') throw problem(`verb <${verb.name}>`);
  const extra = Object.keys(verb.attributes).filter((name) => name !== 'callerId' && name !== 'timeLimit');
  if (extra.length > 0) throw problem(`<Dial> attributes ${extra.join(',')}`);
  if (verb.text !== '' || verb.children.length !== 1) throw problem('<Dial> without exactly one noun');
  const noun = verb.children[0] as XmlElement;
  if (Object.keys(noun.attributes).length > 0 || noun.children.length > 0) throw problem('noun with more than text');
  const dial = { callerId: verb.attributes.callerId, timeLimit: verb.attributes.timeLimit };
  if (noun.name === 'Number') return { verb: 'Dial', ...dial, number: noun.text };
  if (noun.name === 'Client') return { verb: 'Dial', ...dial, client: noun.text };
  throw problem(`noun <${noun.name}>`);
}
