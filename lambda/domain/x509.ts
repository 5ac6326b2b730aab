/**
 * Certificate parsing. Reads PEM (one or many blocks, junk around them, CRLF, no final newline) and
 * DER with Node's X509Certificate, and turns each certificate into the CertificateFacts every decision
 * is made from. Every failure is an InvalidInputError whose one-line message names the input; key
 * material never appears in a message. Private keys are in private-keys.ts, offline bundle checks in
 * bundle-check.ts.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { CertificateFacts, KeyAlgorithm, SubjectAltName } from './certificate';
import { InvalidInputError } from './errors';
import type { CertificateMaterial } from './ports';

/** Labels that hold a certificate. `TRUSTED CERTIFICATE` is OpenSSL's certificate + trust settings. */
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);

/** What other PEM blocks are, for a message that tells the user what they gave us instead. */
function describeLabel(label: string): string {
  if (/PRIVATE KEY$/.test(label)) return 'a private key';
  if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST')
    return 'a certificate request (CSR)';
  if (/PUBLIC KEY$/.test(label)) return 'a public key';
  if (label === 'X509 CRL') return 'a certificate revocation list';
  if (label === 'PKCS7' || label === 'CMS')
    return 'a PKCS#7 bundle (convert it with openssl pkcs7 -print_certs)';
  return `a "${label}" block`;
}

interface PemBlock {
  readonly label: string;
  readonly body: string;
  /** 1-based line of the BEGIN marker. */
  readonly line: number;
}

const MARKER = /-----(BEGIN|END) ([A-Z0-9 #]+?)-----/g;

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/** Splits PEM text into blocks; anything outside BEGIN/END markers is ignored. */
function pemBlocks(text: string, inputName: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let open: { label: string; start: number; index: number } | undefined;
  for (const match of text.matchAll(MARKER)) {
    const [marker, kind, label] = match as unknown as [string, 'BEGIN' | 'END', string];
    if (kind === 'BEGIN') {
      if (open) {
        throw new InvalidInputError(
          `${inputName}: truncated PEM: BEGIN ${open.label} at line ${lineAt(text, open.index)} has no END line`,
        );
      }
      open = { label, start: match.index + marker.length, index: match.index };
    } else {
      if (!open) {
        throw new InvalidInputError(
          `${inputName}: truncated PEM: END ${label} at line ${lineAt(text, match.index)} has no BEGIN line`,
        );
      }
      if (open.label !== label) {
        throw new InvalidInputError(
          `${inputName}: malformed PEM: BEGIN ${open.label} at line ${lineAt(text, open.index)} ends with END ${label}`,
        );
      }
      blocks.push({ label, body: text.slice(open.start, match.index), line: lineAt(text, open.index) });
      open = undefined;
    }
  }
  if (open) {
    throw new InvalidInputError(
      `${inputName}: truncated PEM: BEGIN ${open.label} at line ${lineAt(text, open.index)} has no END line`,
    );
  }
  return blocks;
}

function decodeBase64Body(block: PemBlock, inputName: string, what: string): Buffer {
  // RFC 1421 headers (Proc-Type, DEK-Info) sit before a blank line; certificates have none, keys may.
  const lines = block.body.split(/\r?\n/).filter((l) => !l.includes(':'));
  const b64 = lines.join('').replace(/\s+/g, '');
  if (b64.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) {
    throw new InvalidInputError(`${inputName}: ${what} at line ${block.line} is not valid base64`);
  }
  return Buffer.from(b64, 'base64');
}

/**
 * Length in bytes of the DER element (tag + length + content) starting at `offset`, or undefined
 * when the bytes there cannot be a complete DER SEQUENCE.
 */
function derSequenceLength(der: Buffer, offset: number): number | undefined {
  if (der[offset] !== 0x30 || offset + 2 > der.length) return undefined;
  const first = der[offset + 1]!;
  let length: number;
  let header = 2;
  if (first < 0x80) {
    length = first;
  } else {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4 || offset + 2 + octets > der.length) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[offset + 2 + i]!;
    header += octets;
  }
  const total = header + length;
  return offset + total <= der.length ? total : undefined;
}

export function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // OpenSSL messages look like `error:0680007B:asn1 encoding routines::header too long`.
  const tail = message.split('::').pop() ?? message;
  return tail.split('\n')[0]!.trim();
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64');
  let out = '-----BEGIN CERTIFICATE-----\n';
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + '-----END CERTIFICATE-----\n';
}

function looksLikePrivateKeyDer(der: Buffer): boolean {
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      // not this encoding
    }
  }
  return false;
}

/** A certificate from its DER bytes: the form a TLS handshake hands over. */
export function materialFromDer(der: Buffer): CertificateMaterial {
  const certificate = new X509Certificate(der);
  return { facts: factsOf(certificate), pem: toPem(der) };
}

/**
 * Parses every certificate in `input`: PEM text with one or more certificate blocks (text around
 * them ignored), or DER (one certificate, or several concatenated). Throws InvalidInputError naming
 * `inputName` for anything else.
 */
export function parseCertificates(input: Buffer | string, inputName: string): CertificateMaterial[] {
  const buffer = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (buffer.length === 0 || (buffer.toString('latin1').trim() === '' && buffer.length < 1 << 20)) {
    throw new InvalidInputError(`${inputName}: is empty, expected a PEM or DER certificate`);
  }
  const text = typeof input === 'string' ? input : buffer.toString('latin1');
  if (text.includes('-----BEGIN ') || text.includes('-----END ')) return parsePem(text, inputName);
  if (buffer[0] === 0x30) return parseDer(buffer, inputName);
  if (/PRIVATE KEY/.test(text)) {
    throw new InvalidInputError(`${inputName}: contains a private key, not a certificate`);
  }
  throw new InvalidInputError(`${inputName}: not a certificate (no PEM certificate block and not DER)`);
}

function parsePem(text: string, inputName: string): CertificateMaterial[] {
  const blocks = pemBlocks(text, inputName);
  const certificates = blocks.filter((b) => CERTIFICATE_LABELS.has(b.label));
  if (certificates.length === 0) {
    const labels = [...new Set(blocks.map((b) => b.label))];
    const found = labels.map(describeLabel);
    if (labels.some((l) => /PRIVATE KEY$/.test(l)) && labels.length === 1) {
      throw new InvalidInputError(`${inputName}: contains a private key, not a certificate`);
    }
    throw new InvalidInputError(
      `${inputName}: not a certificate (contains ${found.join(' and ') || 'no PEM block'})`,
    );
  }
  return certificates.map((block, index) => {
    const what = certificates.length > 1 ? `certificate ${index + 1}` : 'certificate';
    let der = decodeBase64Body(block, inputName, what);
    if (block.label === 'TRUSTED CERTIFICATE') {
      // The certificate is the first SEQUENCE; OpenSSL's trust settings follow it.
      const length = derSequenceLength(der, 0);
      if (length !== undefined) der = der.subarray(0, length);
    }
    try {
      return { facts: factsOf(new X509Certificate(der)), pem: toPem(der) };
    } catch (error) {
      throw new InvalidInputError(
        `${inputName}: ${what} at line ${block.line} is not a valid certificate (${shortReason(error)})`,
        { cause: error },
      );
    }
  });
}

function parseDer(der: Buffer, inputName: string): CertificateMaterial[] {
  const results: CertificateMaterial[] = [];
  let offset = 0;
  while (offset < der.length) {
    const length = derSequenceLength(der, offset);
    if (length === undefined) {
      if (results.length === 0) {
        throw new InvalidInputError(`${inputName}: not a certificate (DER is truncated or malformed)`);
      }
      throw new InvalidInputError(
        `${inputName}: DER certificate ${results.length + 1} at byte ${offset} is truncated or malformed`,
      );
    }
    const element = der.subarray(offset, offset + length);
    try {
      results.push({ facts: factsOf(new X509Certificate(element)), pem: toPem(element) });
    } catch (error) {
      if (looksLikePrivateKeyDer(element)) {
        throw new InvalidInputError(`${inputName}: contains a private key, not a certificate`);
      }
      throw new InvalidInputError(
        `${inputName}: not a certificate (DER does not parse: ${shortReason(error)})`,
        {
          cause: error,
        },
      );
    }
    offset += length;
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.5': 'ipsecEndSystem',
  '1.3.6.1.5.5.7.3.6': 'ipsecTunnel',
  '1.3.6.1.5.5.7.3.7': 'ipsecUser',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '1.3.6.1.5.5.7.3.17': 'ipsecIKE',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

const CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

const KEY_TYPES: Record<string, KeyAlgorithm> = {
  rsa: 'RSA',
  'rsa-pss': 'RSA',
  ec: 'EC',
  ed25519: 'Ed25519',
  ed448: 'Ed448',
  dsa: 'DSA',
};

export interface KeyFacts {
  readonly keyAlgorithm: KeyAlgorithm;
  readonly keySize?: number;
  readonly curve?: string;
}

export function keyFacts(key: KeyObject): KeyFacts {
  const type = key.asymmetricKeyType ?? '';
  const keyAlgorithm = KEY_TYPES[type] ?? 'unknown';
  const details = key.asymmetricKeyDetails ?? {};
  if (keyAlgorithm === 'EC') {
    const named = details.namedCurve ?? 'unknown';
    return { keyAlgorithm, curve: CURVES[named] ?? named };
  }
  if (keyAlgorithm === 'Ed25519' || keyAlgorithm === 'Ed448') return { keyAlgorithm, curve: keyAlgorithm };
  if (details.modulusLength !== undefined) return { keyAlgorithm, keySize: details.modulusLength };
  return { keyAlgorithm };
}

/**
 * One-line distinguished name, most specific first (`CN=api, O=Example, C=US`), with RFC 2253
 * escaping and UTF-8 text. Node renders one RDN per line in certificate order; reversing it gives the
 * same string as `openssl x509 -nameopt esc_2253,esc_ctrl,utf8,sep_comma_plus_space,dn_rev,sname`.
 */
function oneLineName(multiline: string | undefined): string {
  if (!multiline) return '';
  // OpenSSL's dn_rev reverses attributes, keeping multi-valued RDNs joined with ` + `.
  const rdns = multiline.split('\n').map((rdn) => rdn.split(' + ').reverse().join(' + '));
  return rdns.reverse().join(', ');
}

/** Splits Node's `subjectAltName` rendering: `DNS:a, IP Address:1.2.3.4, DNS:"quoted\u002cvalue"`. */
function parseSubjectAltNames(rendered: string | undefined): SubjectAltName[] {
  if (!rendered) return [];
  const names: SubjectAltName[] = [];
  let i = 0;
  while (i < rendered.length) {
    const colon = rendered.indexOf(':', i);
    if (colon === -1) break;
    const kind = rendered.slice(i, colon);
    let value: string;
    let next: number;
    if (rendered[colon + 1] === '"') {
      // Node JSON-quotes values that contain separators, so a value cannot forge another entry.
      let end = colon + 2;
      while (end < rendered.length && rendered[end] !== '"') end += rendered[end] === '\\' ? 2 : 1;
      value = JSON.parse(rendered.slice(colon + 1, end + 1)) as string;
      next = rendered.indexOf(', ', end + 1);
    } else {
      next = rendered.indexOf(', ', colon + 1);
      value = rendered.slice(colon + 1, next === -1 ? undefined : next);
    }
    const type = SAN_TYPES[kind];
    if (type) names.push({ type, value: type === 'IP' ? normalizeIp(value) : value });
    if (next === -1) break;
    i = next + 2;
  }
  return names;
}

const SAN_TYPES: Record<string, SubjectAltName['type']> = {
  DNS: 'DNS',
  'IP Address': 'IP',
  email: 'email',
  URI: 'URI',
};

/** IPv4 as is; IPv6 in RFC 5952 form (lowercase, longest zero run compressed). */
export function normalizeIp(value: string): string {
  if (!value.includes(':')) return value;
  let groups: string[];
  if (value.includes('::')) {
    const [head, tail] = value.split('::') as [string, string];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  } else {
    groups = value.split(':');
  }
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return value.toLowerCase();
  const hex = groups.map((g) => parseInt(g, 16).toString(16));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (hex[start] !== '0') {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && hex[end] === '0') end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function isoDate(date: Date | undefined, rendered: string): string {
  return (date ?? new Date(rendered)).toISOString();
}

/**
 * Issuer name equals subject and the signature verifies with the certificate's own key. Not
 * `checkIssued(self)`: that also demands keyCertSign, which a self-signed leaf does not carry.
 */
function isSelfSigned(certificate: X509Certificate): boolean {
  if (certificate.subject !== certificate.issuer) return false;
  try {
    return certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

/** Whole bytes, as `openssl x509 -serial` prints them: Node renders a zero serial as `0`, OpenSSL as `00`. */
function serialHex(rendered: string): string {
  const negative = rendered.startsWith('-');
  const digits = (negative ? rendered.slice(1) : rendered).toUpperCase();
  return `${negative ? '-' : ''}${digits.length % 2 === 1 ? '0' : ''}${digits}`;
}

/** The facts of one parsed certificate. */
export function factsOf(certificate: X509Certificate): CertificateFacts {
  let key: KeyFacts = { keyAlgorithm: 'unknown' };
  try {
    key = keyFacts(certificate.publicKey);
  } catch {
    // Key types OpenSSL cannot load (e.g. GOST) stay `unknown`; the rest of the facts still stand.
  }
  const withDates = certificate as X509Certificate & { validFromDate?: Date; validToDate?: Date };
  return {
    fingerprintSha256: certificate.fingerprint256,
    serialNumber: serialHex(certificate.serialNumber),
    subject: oneLineName(certificate.subject),
    issuer: oneLineName(certificate.issuer),
    subjectAltNames: parseSubjectAltNames(certificate.subjectAltName),
    notBefore: isoDate(withDates.validFromDate, certificate.validFrom),
    notAfter: isoDate(withDates.validToDate, certificate.validTo),
    ...key,
    isCA: certificate.ca,
    selfSigned: isSelfSigned(certificate),
    extendedKeyUsage: (certificate.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid),
  };
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export function isIpAddress(value: string): boolean {
  return IPV4.test(value) || (value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value));
}

/**
 * Whether the certificate's SANs cover `name`: exact DNS match, a wildcard covering exactly one
 * leftmost label, or an equal IP address. A wildcard `name` must appear as is. The subject CN is
 * not consulted, as browsers and Go no longer do.
 */
export function coversName(facts: Pick<CertificateFacts, 'subjectAltNames'>, name: string): boolean {
  if (isIpAddress(name)) {
    const ip = normalizeIp(name);
    return facts.subjectAltNames.some((san) => san.type === 'IP' && san.value === ip);
  }
  const wanted = name.toLowerCase().replace(/\.$/, '');
  return facts.subjectAltNames.some((san) => {
    if (san.type !== 'DNS') return false;
    const dns = san.value.toLowerCase().replace(/\.$/, '');
    if (dns === wanted) return true;
    if (!dns.startsWith('*.') || wanted.startsWith('*.')) return false;
    const dot = wanted.indexOf('.');
    return dot > 0 && wanted.slice(dot) === dns.slice(1);
  });
}

/** `EC P-256`, `RSA 2048`. */
export function describeKey(key: Pick<CertificateFacts, 'keyAlgorithm' | 'keySize' | 'curve'>): string {
  if (key.keyAlgorithm === 'EC') return `EC ${key.curve ?? '?'}`;
  if (key.keySize !== undefined) return `${key.keyAlgorithm} ${key.keySize}`;
  return key.keyAlgorithm;
}
