// Passkeys (WebAuthn) in the dashboard: the server's options JSON (binary
// members base64url, docs/security.md) to what navigator.credentials.create()
// and .get() take, and the credential back to JSON (credential.toJSON()).
//
// Main idea: use the browser's own WebAuthn Level 3 JSON helpers
// (PublicKeyCredential.parseCreationOptionsFromJSON, .parseRequestOptionsFromJSON,
// credential.toJSON()) where they exist, and convert by hand where they do not
// (older Safari and Firefox), so both paths send the server the same shape.
import { api, ApiError } from './api';
import type { Me } from './session.svelte';

type Json = Record<string, unknown>;

export function b64uToBytes(s: string): Uint8Array<ArrayBuffer> {
  let b = s.replace(/-/g, '+').replace(/_/g, '/');
  while (b.length % 4) b += '=';
  const bin = atob(b);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** An ArrayBuffer or a view of one (from any realm: instanceof is not enough). */
function isBinary(v: unknown): v is ArrayBuffer | ArrayBufferView {
  return ArrayBuffer.isView(v) || Object.prototype.toString.call(v) === '[object ArrayBuffer]';
}

export function bytesToB64u(buf: ArrayBuffer | ArrayBufferView): string {
  const bytes = ArrayBuffer.isView(buf)
    ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    : new Uint8Array(buf);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

interface PKCStatic {
  parseCreationOptionsFromJSON?: (o: Json) => PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON?: (o: Json) => PublicKeyCredentialRequestOptions;
  isUserVerifyingPlatformAuthenticatorAvailable?: () => Promise<boolean>;
}

function pkc(): PKCStatic | undefined {
  return typeof PublicKeyCredential === 'undefined' ? undefined : (PublicKeyCredential as unknown as PKCStatic);
}

/** Whether this browser can make and use passkeys at all (a secure context with WebAuthn). */
export function passkeysSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    passkeyAddress() === null &&
    window.isSecureContext !== false &&
    pkc() !== undefined &&
    typeof navigator.credentials?.create === 'function'
  );
}

/** An IP address cannot be a WebAuthn relying party id: on such an address
 * passkeys cannot work. Returns the same page on localhost for a loopback
 * address, '' for another IP, or null when the host is a name. */
export function passkeyAddress(loc: { hostname: string; href: string } = location): string | null {
  const h = loc.hostname;
  const ip = /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.startsWith('[') || h.includes(':');
  if (!ip) return null;
  if (h === '127.0.0.1' || h === '[::1]' || h === '::1') {
    const u = new URL(loc.href);
    u.hostname = 'localhost';
    return u.href;
  }
  return '';
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] {
  return ((list as Json[] | undefined) ?? []).map((c) => ({
    ...(c as object),
    id: b64uToBytes(String(c.id)),
  })) as unknown as PublicKeyCredentialDescriptor[];
}

/** CreationOptionsJSON -> PublicKeyCredentialCreationOptions; byHand skips the browser's parser. */
export function creationOptions(o: Json, byHand = false): PublicKeyCredentialCreationOptions {
  const parse = pkc()?.parseCreationOptionsFromJSON;
  if (!byHand && parse) return parse(o);
  const user = o.user as Json;
  return {
    ...(o as object),
    challenge: b64uToBytes(String(o.challenge)),
    user: { ...(user as object), id: b64uToBytes(String(user.id)) },
    excludeCredentials: descriptors(o.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
}

/** RequestOptionsJSON -> PublicKeyCredentialRequestOptions; byHand skips the browser's parser. */
export function requestOptions(o: Json, byHand = false): PublicKeyCredentialRequestOptions {
  const parse = pkc()?.parseRequestOptionsFromJSON;
  if (!byHand && parse) return parse(o);
  return {
    ...(o as object),
    challenge: b64uToBytes(String(o.challenge)),
    allowCredentials: descriptors(o.allowCredentials),
  } as unknown as PublicKeyCredentialRequestOptions;
}

interface CredentialLike {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  response: Record<string, unknown>;
  getClientExtensionResults?: () => unknown;
  toJSON?: () => unknown;
}

/** A PublicKeyCredential as the JSON the server takes (credential.toJSON(), or the same by hand). */
export function credentialJSON(cred: CredentialLike, byHand = false): Json {
  if (!byHand && typeof cred.toJSON === 'function') return cred.toJSON() as Json;
  const r = cred.response;
  const response: Json = {};
  const bin = (k: string) => {
    const v = r[k];
    if (isBinary(v)) response[k] = bytesToB64u(v);
  };
  bin('clientDataJSON');
  if ('attestationObject' in r) {
    // registration (AuthenticatorAttestationResponse)
    bin('attestationObject');
    const fn = (name: string) => (r[name] as (() => unknown) | undefined)?.bind(r);
    const transports = fn('getTransports')?.();
    if (Array.isArray(transports)) response.transports = transports;
    const pk = fn('getPublicKey')?.();
    if (isBinary(pk)) response.publicKey = bytesToB64u(pk);
    const alg = fn('getPublicKeyAlgorithm')?.();
    if (typeof alg === 'number') response.publicKeyAlgorithm = alg;
    const ad = fn('getAuthenticatorData')?.();
    if (isBinary(ad)) response.authenticatorData = bytesToB64u(ad);
  } else {
    bin('authenticatorData');
    bin('signature');
    if (r.userHandle) bin('userHandle');
  }
  return {
    id: cred.id,
    rawId: bytesToB64u(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    response,
    clientExtensionResults: cred.getClientExtensionResults?.() ?? {},
  };
}

/** A browser refusal (the person cancelled, timed out, no authenticator) in words. */
export function ceremonyError(e: unknown): Error {
  if (e instanceof ApiError) return e;
  const name = (e as { name?: string })?.name;
  const msg = (e as { message?: string })?.message ?? String(e);
  if (name === 'NotAllowedError') return new Error('the passkey request was cancelled or timed out');
  if (name === 'InvalidStateError') return new Error('this authenticator already holds a passkey for this account');
  if (name === 'SecurityError') return new Error(`the browser refused passkeys on this address: ${msg}`);
  if (name === 'NotSupportedError') return new Error('this browser or authenticator cannot make such a passkey');
  return e instanceof Error ? e : new Error(msg);
}

export interface PasskeyAdded {
  id: number;
  name: string;
  alg: number;
  backed_up: boolean;
}

/** Registers a new passkey for the signed-in user (name optional). */
export async function registerPasskey(name?: string): Promise<PasskeyAdded> {
  const opts = await api.post<{ publicKey: Json }>('/api/v1/auth/passkeys/register/options');
  let cred: Credential | null;
  try {
    cred = await navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
  } catch (e) {
    throw ceremonyError(e);
  }
  if (!cred) throw new Error('the browser made no passkey');
  const body: Json = { credential: credentialJSON(cred as unknown as CredentialLike) };
  if (name && name.trim()) body.name = name.trim();
  return api.post<PasskeyAdded>('/api/v1/auth/passkeys/register', body);
}

/** Signs in with a passkey (discoverable: the authenticator says who); the server's SignedIn. */
export async function passkeySignIn(): Promise<Me> {
  const opts = await api.post<{ publicKey: Json }>('/api/v1/auth/passkeys/login/options');
  let cred: Credential | null;
  try {
    cred = await navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) });
  } catch (e) {
    throw ceremonyError(e);
  }
  if (!cred) throw new Error('the browser gave no passkey');
  return api.post<Me>('/api/v1/auth/passkeys/login', {
    credential: credentialJSON(cred as unknown as CredentialLike),
  });
}

/** COSE algorithm number in words. */
export function algName(alg: number): string {
  return alg === -7 ? 'ES256' : alg === -257 ? 'RS256' : alg === -8 ? 'EdDSA' : `alg ${alg}`;
}
