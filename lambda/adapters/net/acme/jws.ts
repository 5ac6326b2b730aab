/**
 * JSON Web Signatures for ACME (RFC 8555 §6.2, RFC 7515/7517/7638) with node:crypto only: the
 * account key signs every request (ES256 for P-256 keys, RS256 for RSA keys), the JWK thumbprint
 * makes key authorizations, and External Account Binding is an HS256 JWS over the account's JWK
 * made with the CA-issued MAC key.
 */
import { type KeyObject, createHash, createHmac, createPrivateKey, createPublicKey, sign } from 'node:crypto';

export function b64u(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export type JwsAlgorithm = 'ES256' | 'RS256';

/** The public JWK of an account key, with only the members RFC 7638 requires (thumbprint order). */
export function publicJwk(key: KeyObject): Record<string, string> {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as Record<string, string>;
  if (jwk.kty === 'EC') return { crv: jwk.crv!, kty: 'EC', x: jwk.x!, y: jwk.y! };
  if (jwk.kty === 'RSA') return { e: jwk.e!, kty: 'RSA', n: jwk.n! };
  throw new Error(`unsupported ACME account key type ${jwk.kty}`);
}

export function jwsAlgorithm(key: KeyObject): JwsAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'P-256')
      throw new Error(`ACME account keys on curve ${curve} are not supported; use P-256`);
    return 'ES256';
  }
  if (type === 'rsa') return 'RS256';
  throw new Error(`unsupported ACME account key type ${type}`);
}

/** RFC 7638 thumbprint (base64url SHA-256 over the canonical JWK). */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = publicJwk(key);
  const canonical = `{${Object.keys(jwk)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(jwk[k])}`)
    .join(',')}}`;
  return b64u(createHash('sha256').update(canonical).digest());
}

/** The key authorization of a challenge token (RFC 8555 §8.1). */
export function keyAuthorization(token: string, accountKey: KeyObject): string {
  return `${token}.${jwkThumbprint(accountKey)}`;
}

/** The TXT value of a DNS-01 challenge (RFC 8555 §8.4). */
export function dns01TxtValue(token: string, accountKey: KeyObject): string {
  return b64u(createHash('sha256').update(keyAuthorization(token, accountKey)).digest());
}

export interface FlattenedJws {
  readonly protected: string;
  readonly payload: string;
  readonly signature: string;
}

/**
 * A flattened JWS. `kid` (the account URL) after registration, else the JWK; `payload` undefined is
 * POST-as-GET (empty payload).
 */
export function signJws(
  key: KeyObject,
  header: { readonly url: string; readonly nonce?: string; readonly kid?: string },
  payload: unknown,
): FlattenedJws {
  const alg = jwsAlgorithm(key);
  const protectedHeader = {
    alg,
    ...(header.kid ? { kid: header.kid } : { jwk: publicJwk(key) }),
    ...(header.nonce ? { nonce: header.nonce } : {}),
    url: header.url,
  };
  const encodedProtected = b64u(JSON.stringify(protectedHeader));
  const encodedPayload = payload === undefined ? '' : b64u(JSON.stringify(payload));
  const input = Buffer.from(`${encodedProtected}.${encodedPayload}`);
  const signature =
    alg === 'ES256' ? sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', input, key);
  return { protected: encodedProtected, payload: encodedPayload, signature: b64u(signature) };
}

/**
 * External Account Binding (RFC 8555 §7.3.4): an HS256 JWS over the account's public JWK, with the
 * CA-issued key id and base64url MAC key, for the newAccount URL.
 */
export function externalAccountBinding(
  accountKey: KeyObject,
  eab: { readonly keyId: string; readonly hmacKey: string },
  newAccountUrl: string,
): FlattenedJws {
  const encodedProtected = b64u(JSON.stringify({ alg: 'HS256', kid: eab.keyId, url: newAccountUrl }));
  const encodedPayload = b64u(JSON.stringify(publicJwk(accountKey)));
  const mac = createHmac('sha256', Buffer.from(eab.hmacKey, 'base64url'))
    .update(`${encodedProtected}.${encodedPayload}`)
    .digest();
  return { protected: encodedProtected, payload: encodedPayload, signature: b64u(mac) };
}

export function privateKeyObject(pem: string): KeyObject {
  return createPrivateKey(pem);
}
