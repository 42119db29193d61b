import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  algName,
  b64uToBytes,
  bytesToB64u,
  ceremonyError,
  creationOptions,
  credentialJSON,
  passkeyAddress,
  passkeySignIn,
  registerPasskey,
  requestOptions,
} from '../src/lib/webauthn';
import { setCsrf } from '../src/lib/api';

const enc = (s: string) => new TextEncoder().encode(s);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  setCsrf('');
});

describe('base64url', () => {
  it('round-trips bytes without padding or + /', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf, 0x00, 0x01]);
    const s = bytesToB64u(bytes);
    expect(s).toBe('-_-_AAE');
    expect([...b64uToBytes(s)]).toEqual([...bytes]);
    expect(bytesToB64u(bytes.buffer)).toBe(s);
    // a view into a larger buffer encodes only its own bytes
    expect(bytesToB64u(new Uint8Array(bytes.buffer, 1, 2))).toBe('_78');
    expect([...b64uToBytes('')]).toEqual([]);
  });
});

const CREATE = {
  challenge: bytesToB64u(enc('challenge')),
  rp: { name: 'vigil', id: 'localhost' },
  user: { id: bytesToB64u(enc('user-7')), name: 'alice', displayName: 'alice' },
  pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
  excludeCredentials: [{ type: 'public-key', id: bytesToB64u(enc('old')) }],
  authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
};

describe('options JSON to what the browser takes', () => {
  it('converts creation options by hand: challenge, user id and excluded ids to bytes', () => {
    const o = creationOptions(CREATE, true);
    expect(new TextDecoder().decode(o.challenge as Uint8Array)).toBe('challenge');
    expect(new TextDecoder().decode(o.user.id as Uint8Array)).toBe('user-7');
    expect(o.user.name).toBe('alice');
    expect(o.rp).toEqual(CREATE.rp);
    expect(o.pubKeyCredParams).toEqual(CREATE.pubKeyCredParams);
    expect(new TextDecoder().decode(o.excludeCredentials![0].id as Uint8Array)).toBe('old');
    expect(o.excludeCredentials![0].type).toBe('public-key');
  });
  it('converts request options by hand, with and without allowCredentials', () => {
    const o = requestOptions({ challenge: bytesToB64u(enc('c2')), rpId: 'localhost', userVerification: 'required' }, true);
    expect(new TextDecoder().decode(o.challenge as Uint8Array)).toBe('c2');
    expect(o.rpId).toBe('localhost');
    expect(o.allowCredentials).toEqual([]);
    const p = requestOptions({ challenge: 'AA', allowCredentials: [{ type: 'public-key', id: 'AQI' }] }, true);
    expect([...(p.allowCredentials![0].id as Uint8Array)]).toEqual([1, 2]);
  });
  it("uses the browser's own parser where it has one", () => {
    const parse = vi.fn(() => ({ parsed: true }));
    vi.stubGlobal('PublicKeyCredential', { parseCreationOptionsFromJSON: parse, parseRequestOptionsFromJSON: parse });
    expect(creationOptions(CREATE)).toEqual({ parsed: true });
    expect(requestOptions({ challenge: 'AA' })).toEqual({ parsed: true });
    expect(parse).toHaveBeenCalledTimes(2);
    // byHand skips it
    expect(creationOptions(CREATE, true)).not.toEqual({ parsed: true });
  });
});

function attestationCred() {
  const response = {
    clientDataJSON: enc('{"type":"webauthn.create"}').buffer,
    attestationObject: new Uint8Array([1, 2, 3]).buffer,
    getTransports: () => ['internal'],
    getPublicKey: () => new Uint8Array([4, 5]).buffer,
    getPublicKeyAlgorithm: () => -7,
    getAuthenticatorData: () => new Uint8Array([6]).buffer,
  };
  return {
    id: 'AQID',
    rawId: new Uint8Array([1, 2, 3]).buffer,
    type: 'public-key',
    authenticatorAttachment: 'platform',
    response,
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
  };
}

describe('credential to JSON', () => {
  it('writes a registration as toJSON() would', () => {
    expect(credentialJSON(attestationCred(), true)).toEqual({
      id: 'AQID',
      rawId: 'AQID',
      type: 'public-key',
      authenticatorAttachment: 'platform',
      response: {
        clientDataJSON: bytesToB64u(enc('{"type":"webauthn.create"}')),
        attestationObject: 'AQID',
        transports: ['internal'],
        publicKey: 'BAU',
        publicKeyAlgorithm: -7,
        authenticatorData: 'Bg',
      },
      clientExtensionResults: { credProps: { rk: true } },
    });
  });
  it('writes an assertion with its user handle', () => {
    const cred = {
      id: 'CQ',
      rawId: new Uint8Array([9]).buffer,
      type: 'public-key',
      authenticatorAttachment: null,
      response: {
        clientDataJSON: enc('{}').buffer,
        authenticatorData: new Uint8Array([7]).buffer,
        signature: new Uint8Array([8]).buffer,
        userHandle: new Uint8Array([10]).buffer,
      },
    };
    expect(credentialJSON(cred, true)).toEqual({
      id: 'CQ',
      rawId: 'CQ',
      type: 'public-key',
      authenticatorAttachment: undefined,
      response: { clientDataJSON: 'e30', authenticatorData: 'Bw', signature: 'CA', userHandle: 'Cg' },
      clientExtensionResults: {},
    });
  });
  it("prefers the credential's own toJSON()", () => {
    const cred = { ...attestationCred(), toJSON: () => ({ own: true }) };
    expect(credentialJSON(cred)).toEqual({ own: true });
  });
});

describe('where passkeys can work', () => {
  it('refuses IP addresses (no relying party id) and points loopback to localhost', () => {
    const at = (href: string) => passkeyAddress({ hostname: new URL(href).hostname, href });
    expect(at('http://localhost:8080/#/account')).toBeNull();
    expect(at('https://cams.example.com/')).toBeNull();
    expect(at('http://127.0.0.1:8080/#/account')).toBe('http://localhost:8080/#/account');
    expect(at('http://[::1]:8080/')).toBe('http://localhost:8080/');
    expect(at('http://192.168.1.20:8080/')).toBe('');
  });
});

describe('ceremonies', () => {
  it('registers: options, create(), then the credential and name to the server with the CSRF token', async () => {
    setCsrf('tok');
    const calls: { url: string; body?: unknown; csrf?: string }[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        const headers = init.headers as Record<string, string>;
        calls.push({ url, body: init.body ? JSON.parse(String(init.body)) : undefined, csrf: headers['X-CSRF-Token'] });
        if (url.endsWith('/register/options')) return json(200, { publicKey: CREATE });
        return json(201, { id: 3, name: 'phone', alg: -7, backed_up: false });
      }),
    );
    vi.stubGlobal('PublicKeyCredential', {});
    const create = vi.fn(async () => attestationCred());
    vi.stubGlobal('navigator', { credentials: { create } });
    const added = await registerPasskey(' phone ');
    expect(added.id).toBe(3);
    expect(calls.map((c) => c.url)).toEqual(['/api/v1/auth/passkeys/register/options', '/api/v1/auth/passkeys/register']);
    expect(calls.every((c) => c.csrf === 'tok')).toBe(true);
    const body = calls[1].body as { name: string; credential: { rawId: string } };
    expect(body.name).toBe('phone');
    expect(body.credential.rawId).toBe('AQID');
    const arg = (create.mock.calls[0] as unknown as [{ publicKey: { challenge: Uint8Array } }])[0];
    expect(new TextDecoder().decode(arg.publicKey.challenge)).toBe('challenge');
  });
  it('signs in: a cancelled get() is said in words and nothing is posted', async () => {
    const fetchMock = vi.fn(async () => json(200, { publicKey: { challenge: 'AA' } }));
    vi.stubGlobal('fetch', fetchMock);
    vi.stubGlobal('PublicKeyCredential', {});
    vi.stubGlobal('navigator', {
      credentials: { get: vi.fn(async () => Promise.reject(new DOMException('no', 'NotAllowedError'))) },
    });
    await expect(passkeySignIn()).rejects.toThrow('the passkey request was cancelled or timed out');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });
  it('signs in: the assertion goes to /login and its SignedIn comes back', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) =>
        url.endsWith('/options')
          ? json(200, { publicKey: { challenge: 'AA' } })
          : json(200, { user: 'alice', role: 'viewer', auth: 'session', csrf_token: 'x' }),
      ),
    );
    vi.stubGlobal('PublicKeyCredential', {});
    vi.stubGlobal('navigator', { credentials: { get: vi.fn(async () => ({ toJSON: () => ({ id: 'CQ' }) })) } });
    expect((await passkeySignIn()).user).toBe('alice');
  });
  it('names errors and algorithms', () => {
    expect(ceremonyError(new DOMException('x', 'InvalidStateError')).message).toMatch(/already holds/);
    expect(ceremonyError(new Error('plain')).message).toBe('plain');
    expect(algName(-7)).toBe('ES256');
    expect(algName(-257)).toBe('RS256');
    expect(algName(5)).toBe('alg 5');
  });
});
