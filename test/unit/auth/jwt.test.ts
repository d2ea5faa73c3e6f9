import assert from 'node:assert/strict';
import { createHmac, sign as cryptoSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { createJwtVerifier, type JwtOptions, type JwtResult } from '../../../src/auth/jwt.js';

// Keys are generated once for the whole file: RSA generation is the slow part.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const ec2 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function pem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

const RSA_PEM = pem(rsa.publicKey);
const RSA2_PEM = pem(rsa2.publicKey);
const EC_PEM = pem(ec.publicKey);
const EC2_PEM = pem(ec2.publicKey);
const SECRET = 'a-shared-secret-of-at-least-32-bytes!!';

const NOW = 1_700_000_000_000;
const NOW_S = NOW / 1000;

type Signer = (input: Buffer) => Buffer;

const hs =
  (secret: string | Buffer): Signer =>
  (input) =>
    createHmac('sha256', secret).update(input).digest();
const rs =
  (key: KeyObject): Signer =>
  (input) =>
    cryptoSign('sha256', input, key);
const es =
  (key: KeyObject, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): Signer =>
  (input) =>
    cryptoSign('sha256', input, { key, dsaEncoding });

function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function jwt(header: Record<string, unknown>, payload: Record<string, unknown>, signer: Signer): string {
  const input = `${segment(header)}.${segment(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: 'alice',
  iat: NOW_S - 10,
  exp: NOW_S + 3600,
  ...extra,
});

function reason(result: JwtResult): string {
  assert.equal(result.ok, false, 'expected the token to be refused');
  return result.ok ? '' : result.reason;
}

function accepted(result: JwtResult): Extract<JwtResult, { ok: true }> {
  assert.ok(result.ok, result.ok ? '' : `refused: ${result.reason}`);
  return result;
}

const all: JwtOptions = {
  algorithms: ['HS256', 'RS256', 'ES256'],
  secret: SECRET,
  publicKeys: [{ key: RSA_PEM }, { key: EC_PEM }],
};
const verifier = createJwtVerifier(all);

describe('jwt: valid tokens', () => {
  test('HS256, RS256 and ES256 tokens verify and yield the username, claims and expiry', () => {
    for (const [alg, signer] of [
      ['HS256', hs(SECRET)],
      ['RS256', rs(rsa.privateKey)],
      ['ES256', es(ec.privateKey)],
    ] as const) {
      const result = accepted(verifier.verify(jwt({ alg, typ: 'JWT' }, claims({ role: 'x' }), signer), NOW));
      assert.equal(result.username, 'alice', alg);
      assert.equal(result.claims['role'], 'x');
      assert.equal(result.expiresAt, (NOW_S + 3600) * 1000);
    }
  });

  test('a Buffer secret works; typ is case-insensitive and optional', () => {
    const secret = Buffer.alloc(32, 7);
    const v = createJwtVerifier({ algorithms: ['HS256'], secret });
    accepted(v.verify(jwt({ alg: 'HS256', typ: 'jwt' }, claims(), hs(secret)), NOW));
    accepted(v.verify(jwt({ alg: 'HS256' }, claims(), hs(secret)), NOW));
    assert.equal(
      reason(v.verify(jwt({ alg: 'HS256', typ: 'JOSE' }, claims(), hs(secret)), NOW)),
      'typ is not JWT',
    );
  });

  test('no username claim gives username undefined; a non-string one is refused', () => {
    const { sub: _, ...noSub } = claims();
    assert.equal(
      accepted(verifier.verify(jwt({ alg: 'HS256' }, noSub, hs(SECRET)), NOW)).username,
      undefined,
    );
    assert.match(
      reason(verifier.verify(jwt({ alg: 'HS256' }, claims({ sub: 42 }), hs(SECRET)), NOW)),
      /username/,
    );
  });

  test('custom username claim', () => {
    const v = createJwtVerifier({ ...all, usernameClaim: 'preferred_username' });
    const token = jwt({ alg: 'ES256' }, claims({ preferred_username: 'bob' }), es(ec.privateKey));
    assert.equal(accepted(v.verify(token, NOW)).username, 'bob');
    assert.equal(
      accepted(v.verify(jwt({ alg: 'ES256' }, claims(), es(ec.privateKey)), NOW)).username,
      undefined,
    );
  });
});

describe('jwt: signatures', () => {
  test('a wrong signature fails for every algorithm', () => {
    const wrong = [
      jwt({ alg: 'HS256' }, claims(), hs('another-secret-that-is-32-bytes-long!')),
      jwt({ alg: 'RS256' }, claims(), rs(rsa2.privateKey)),
      jwt({ alg: 'ES256' }, claims(), es(ec2.privateKey)),
    ];
    for (const token of wrong) assert.equal(reason(verifier.verify(token, NOW)), 'bad signature');
  });

  test('a tampered payload fails', () => {
    for (const token of [
      jwt({ alg: 'HS256' }, claims(), hs(SECRET)),
      jwt({ alg: 'RS256' }, claims(), rs(rsa.privateKey)),
      jwt({ alg: 'ES256' }, claims(), es(ec.privateKey)),
    ]) {
      const [h, , s] = token.split('.');
      const forged = `${h}.${segment(claims({ sub: 'admin' }))}.${s}`;
      assert.equal(reason(verifier.verify(forged, NOW)), 'bad signature');
    }
  });

  test('alg none is refused, with or without a signature', () => {
    const body = `${segment({ alg: 'none' })}.${segment(claims())}`;
    assert.equal(reason(verifier.verify(`${body}.`, NOW)), 'alg not allowed');
    assert.equal(reason(verifier.verify(`${body}.AAAA`, NOW)), 'alg not allowed');
    const upper = `${segment({ alg: 'NONE' })}.${segment(claims())}.AAAA`;
    assert.equal(reason(verifier.verify(upper, NOW)), 'alg not allowed');
  });

  test('algorithm confusion: HS256 signed with the RSA public key PEM fails', () => {
    const forged = jwt({ alg: 'HS256' }, claims({ sub: 'admin' }), hs(RSA_PEM));
    const rsOnly = createJwtVerifier({ algorithms: ['RS256'], publicKeys: [{ key: RSA_PEM }] });
    assert.equal(reason(rsOnly.verify(forged, NOW)), 'alg not allowed');
    const both = createJwtVerifier({
      algorithms: ['HS256', 'RS256'],
      secret: SECRET,
      publicKeys: [{ kid: 'r', key: RSA_PEM }],
    });
    assert.equal(reason(both.verify(forged, NOW)), 'bad signature');
    const withKid = jwt({ alg: 'HS256', kid: 'r' }, claims({ sub: 'admin' }), hs(RSA_PEM));
    assert.equal(reason(both.verify(withKid, NOW)), 'bad signature');
  });

  test('a kid naming a key of another algorithm fails', () => {
    const v = createJwtVerifier({
      algorithms: ['RS256', 'ES256'],
      publicKeys: [
        { kid: 'rsa', key: RSA_PEM },
        { kid: 'ec', key: EC_PEM },
      ],
    });
    const token = jwt({ alg: 'ES256', kid: 'rsa' }, claims(), es(ec.privateKey));
    assert.equal(reason(v.verify(token, NOW)), 'kid names a key of another algorithm');
  });

  test('ES256 with a DER signature is refused: JOSE needs the raw 64-byte r||s', () => {
    const der = jwt({ alg: 'ES256' }, claims(), es(ec.privateKey, 'der'));
    assert.notEqual(Buffer.from(der.split('.')[2]!, 'base64url').length, 64);
    assert.equal(reason(verifier.verify(der, NOW)), 'bad signature');
  });

  test('an RS256 signature of the wrong length fails', () => {
    const token = jwt({ alg: 'RS256' }, claims(), rs(rsa.privateKey));
    const [h, p, s] = token.split('.') as [string, string, string];
    const signature = Buffer.from(s, 'base64url');
    assert.equal(signature.length, 256);
    for (const wrong of [signature.subarray(1), Buffer.concat([Buffer.alloc(1), signature])]) {
      assert.equal(reason(verifier.verify(`${h}.${p}.${wrong.toString('base64url')}`, NOW)), 'bad signature');
    }
  });
});

describe('jwt: key selection', () => {
  const v = createJwtVerifier({
    algorithms: ['RS256', 'ES256'],
    publicKeys: [
      { kid: 'one', key: RSA_PEM },
      { kid: 'two', key: RSA2_PEM },
      { kid: 'e1', key: EC_PEM },
      { key: EC2_PEM },
    ],
  });

  test('the kid selects among two keys', () => {
    accepted(v.verify(jwt({ alg: 'RS256', kid: 'one' }, claims(), rs(rsa.privateKey)), NOW));
    accepted(v.verify(jwt({ alg: 'RS256', kid: 'two' }, claims(), rs(rsa2.privateKey)), NOW));
    const crossed = jwt({ alg: 'RS256', kid: 'one' }, claims(), rs(rsa2.privateKey));
    assert.equal(reason(v.verify(crossed, NOW)), 'bad signature');
  });

  test('an unknown kid fails', () => {
    const token = jwt({ alg: 'RS256', kid: 'three' }, claims(), rs(rsa.privateKey));
    assert.equal(reason(v.verify(token, NOW)), 'unknown kid');
  });

  test('a non-string kid fails', () => {
    const token = jwt({ alg: 'RS256', kid: 1 }, claims(), rs(rsa.privateKey));
    assert.equal(reason(v.verify(token, NOW)), 'malformed kid');
  });

  test('without a kid every key of the right type is tried', () => {
    accepted(v.verify(jwt({ alg: 'RS256' }, claims(), rs(rsa2.privateKey)), NOW));
    accepted(v.verify(jwt({ alg: 'ES256' }, claims(), es(ec2.privateKey)), NOW));
    accepted(v.verify(jwt({ alg: 'ES256' }, claims(), es(ec.privateKey)), NOW));
  });
});

describe('jwt: time claims', () => {
  const at = (payload: Record<string, unknown>, now: number, options: Partial<JwtOptions> = {}): JwtResult =>
    createJwtVerifier({ ...all, ...options }).verify(jwt({ alg: 'HS256' }, payload, hs(SECRET)), now);

  test('an expired token fails', () => {
    assert.equal(reason(at(claims({ exp: NOW_S - 3600 }), NOW)), 'token expired');
  });

  test('a token whose nbf is in the future fails', () => {
    assert.equal(reason(at(claims({ nbf: NOW_S + 3600 }), NOW)), 'token not yet valid');
  });

  test('the default tolerance is 30 s on both edges', () => {
    const exp = NOW_S;
    accepted(at(claims({ exp }), exp * 1000 + 30_000 - 1));
    assert.equal(reason(at(claims({ exp }), exp * 1000 + 30_000)), 'token expired');
    const nbf = NOW_S;
    accepted(at(claims({ nbf }), nbf * 1000 - 30_000));
    assert.equal(reason(at(claims({ nbf }), nbf * 1000 - 30_001)), 'token not yet valid');
  });

  test('tolerance 0 is exact', () => {
    accepted(at(claims({ exp: NOW_S }), NOW - 1, { clockToleranceSeconds: 0 }));
    assert.equal(reason(at(claims({ exp: NOW_S }), NOW, { clockToleranceSeconds: 0 })), 'token expired');
  });

  test('exp is required unless requireExpiry is false', () => {
    const { exp: _, ...noExp } = claims();
    assert.equal(reason(at(noExp, NOW)), 'exp missing');
    const result = accepted(at(noExp, NOW, { requireExpiry: false }));
    assert.equal(result.expiresAt, undefined);
  });

  test('exp, nbf and iat must be numbers', () => {
    assert.equal(reason(at(claims({ exp: String(NOW_S + 60) }), NOW)), 'exp is not a number');
    assert.equal(reason(at(claims({ nbf: null }), NOW)), 'nbf is not a number');
    assert.equal(reason(at(claims({ iat: 'yesterday' }), NOW)), 'iat is not a number');
  });

  test('expiresInMs counts to exp plus the tolerance, never negative', () => {
    const v = createJwtVerifier(all);
    const result = v.verify(jwt({ alg: 'HS256' }, claims({ exp: NOW_S + 60 }), hs(SECRET)), NOW);
    assert.equal(v.expiresInMs(result, NOW), 90_000);
    assert.equal(v.expiresInMs(result, NOW + 200_000), 0);
    assert.equal(v.expiresInMs({ ok: false, reason: 'x' }, NOW), undefined);
  });
});

describe('jwt: issuer and audience', () => {
  const token = (extra: Record<string, unknown>) => jwt({ alg: 'HS256' }, claims(extra), hs(SECRET));

  test('issuer as a string or an array', () => {
    const one = createJwtVerifier({ ...all, issuer: 'https://idp' });
    accepted(one.verify(token({ iss: 'https://idp' }), NOW));
    assert.equal(reason(one.verify(token({ iss: 'https://evil' }), NOW)), 'issuer not accepted');
    assert.equal(reason(one.verify(token({}), NOW)), 'issuer not accepted');
    const many = createJwtVerifier({ ...all, issuer: ['a', 'b'] });
    accepted(many.verify(token({ iss: 'b' }), NOW));
    assert.equal(reason(many.verify(token({ iss: ['a'] }), NOW)), 'issuer not accepted');
  });

  test('audience configured as a string or an array, present in the token as a string or an array', () => {
    const one = createJwtVerifier({ ...all, audience: 'mqtt' });
    accepted(one.verify(token({ aud: 'mqtt' }), NOW));
    accepted(one.verify(token({ aud: ['web', 'mqtt'] }), NOW));
    assert.equal(reason(one.verify(token({ aud: 'web' }), NOW)), 'audience not accepted');
    assert.equal(reason(one.verify(token({ aud: ['web'] }), NOW)), 'audience not accepted');
    assert.equal(reason(one.verify(token({}), NOW)), 'audience not accepted');
    const many = createJwtVerifier({ ...all, audience: ['mqtt', 'broker'] });
    accepted(many.verify(token({ aud: 'broker' }), NOW));
    accepted(many.verify(token({ aud: [1, 'broker'] }), NOW));
    assert.equal(reason(many.verify(token({ aud: 'web' }), NOW)), 'audience not accepted');
  });
});

describe('jwt: malformed tokens', () => {
  const good = jwt({ alg: 'HS256' }, claims(), hs(SECRET));
  const [h, p, s] = good.split('.') as [string, string, string];
  const signed = (header: string, payload: string): string => {
    const input = `${header}.${payload}`;
    return `${input}.${hs(SECRET)(Buffer.from(input)).toString('base64url')}`;
  };

  test('segment count', () => {
    assert.equal(reason(verifier.verify(`${h}.${p}`, NOW)), 'token must have three segments');
    assert.equal(reason(verifier.verify(`${good}.${s}`, NOW)), 'token must have three segments');
    assert.equal(reason(verifier.verify('', NOW)), 'empty token');
  });

  test('bad base64url: padding, standard alphabet, stray characters, non-canonical bits', () => {
    assert.equal(reason(verifier.verify(`${h}=.${p}.${s}`, NOW)), 'malformed header');
    assert.equal(reason(verifier.verify(`${h}.${p}.${s}=`, NOW)), 'malformed signature');
    assert.equal(reason(verifier.verify(`${h}.${p}.${s.slice(0, -1)}+`, NOW)), 'malformed signature');
    assert.equal(reason(verifier.verify(`${h} .${p}.${s}`, NOW)), 'malformed header');
    // 43 characters carry 256 bits plus 2 spare bits, which must be zero.
    const last = s.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const bumped = alphabet[(alphabet.indexOf(last) & ~3) + 1]!;
    assert.equal(reason(verifier.verify(`${h}.${p}.${s.slice(0, -1)}${bumped}`, NOW)), 'malformed signature');
    // A payload that is not base64url fails even with a matching signature.
    assert.equal(reason(verifier.verify(signed(h, `${p}*`), NOW)), 'malformed payload');
  });

  test('header not JSON, header an array, header without alg', () => {
    const raw = (text: string) => Buffer.from(text).toString('base64url');
    assert.equal(reason(verifier.verify(signed(raw('{alg:HS256}'), p), NOW)), 'malformed header');
    assert.equal(reason(verifier.verify(signed(raw('["HS256"]'), p), NOW)), 'malformed header');
    assert.equal(reason(verifier.verify(signed(raw('"HS256"'), p), NOW)), 'malformed header');
    assert.equal(
      reason(verifier.verify(signed(Buffer.from([0xff, 0xfe]).toString('base64url'), p), NOW)),
      'malformed header',
    );
    assert.equal(reason(verifier.verify(signed(segment({ typ: 'JWT' }), p), NOW)), 'alg not allowed');
    assert.equal(reason(verifier.verify(signed(segment({ alg: 'HS512' }), p), NOW)), 'alg not allowed');
  });

  test('payload not a JSON object', () => {
    assert.equal(reason(verifier.verify(signed(h, segment([1, 2])), NOW)), 'malformed payload');
    assert.equal(
      reason(verifier.verify(signed(h, Buffer.from('nope').toString('base64url')), NOW)),
      'malformed payload',
    );
  });

  test('crit headers are refused', () => {
    const token = jwt({ alg: 'HS256', crit: ['exp'], exp: 1 }, claims(), hs(SECRET));
    assert.equal(reason(verifier.verify(token, NOW)), 'crit header not supported');
  });

  test('a huge token is refused before any parsing', () => {
    const huge = jwt({ alg: 'HS256' }, claims({ pad: 'x'.repeat(10_000) }), hs(SECRET));
    assert.equal(reason(verifier.verify(huge, NOW)), 'token too large');
    accepted(createJwtVerifier({ ...all, maxTokenBytes: 65536 }).verify(huge, NOW));
    assert.equal(reason(verifier.verify('a'.repeat(1_000_000), NOW)), 'token too large');
  });

  test('failure reasons never echo the token or the secret', () => {
    const sneaky = jwt({ alg: 'HS256', kid: SECRET }, claims(), hs('wrong-secret-wrong-secret-wrong-secret'));
    const text = reason(verifier.verify(sneaky, NOW));
    assert.ok(!text.includes(SECRET) && !text.includes(sneaky.slice(0, 20)));
  });
});

describe('jwt: options are checked at creation', () => {
  const refuses = (options: unknown, pattern: RegExp): void => {
    assert.throws(() => createJwtVerifier(options as JwtOptions), pattern);
  };

  test('algorithms', () => {
    refuses({ algorithms: [] }, /algorithms must be a non-empty array/);
    refuses({ algorithms: ['none'] }, /algorithm "none" is not supported/);
    refuses({ algorithms: ['HS512'], secret: SECRET }, /"HS512" is not supported/);
  });

  test('HS256 secrets', () => {
    refuses({ algorithms: ['HS256'] }, /HS256 is in algorithms but no secret/);
    refuses({ algorithms: ['HS256'], secret: 'short' }, /5 bytes; it must be at least 32/);
    refuses({ algorithms: ['HS256'], secret: Buffer.alloc(31) }, /31 bytes/);
    refuses({ algorithms: ['HS256'], secret: RSA_PEM }, /looks like a PEM key/);
    refuses(
      { algorithms: ['RS256'], secret: SECRET, publicKeys: [{ key: RSA_PEM }] },
      /HS256 is not in algorithms/,
    );
  });

  test('public keys must match their algorithm', () => {
    refuses({ algorithms: ['RS256'] }, /RS256 is in algorithms but publicKeys has no RSA key/);
    refuses(
      { algorithms: ['ES256'], publicKeys: [] },
      /ES256 is in algorithms but publicKeys has no EC P-256 key/,
    );
    refuses(
      { algorithms: ['RS256'], publicKeys: [{ key: EC_PEM }] },
      /key for ES256, which is not in algorithms/,
    );
    refuses(
      { algorithms: ['ES256'], publicKeys: [{ key: RSA_PEM }] },
      /key for RS256, which is not in algorithms/,
    );
    refuses({ algorithms: ['ES256', 'RS256'], publicKeys: [{ key: EC_PEM }] }, /RS256 is in algorithms/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    refuses(
      { algorithms: ['ES256'], publicKeys: [{ key: pem(p384.publicKey) }] },
      /secp384r1; ES256 needs P-256/,
    );
    const ed = generateKeyPairSync('ed25519');
    refuses({ algorithms: ['RS256'], publicKeys: [{ key: pem(ed.publicKey) }] }, /ed25519 key/);
    refuses(
      { algorithms: ['RS256'], publicKeys: [{ key: 'not a pem' }] },
      /publicKeys\[0\]\.key is not a PEM/,
    );
    const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    refuses({ algorithms: ['RS256'], publicKeys: [{ key: privatePem }] }, /private key/);
    refuses(
      {
        algorithms: ['RS256'],
        publicKeys: [
          { kid: 'k', key: RSA_PEM },
          { kid: 'k', key: RSA2_PEM },
        ],
      },
      /kid "k" is repeated/,
    );
  });

  test('RSA keys under 2048 bits are refused', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    refuses({ algorithms: ['RS256'], publicKeys: [{ key: pem(small.publicKey) }] }, /1024-bit RSA key/);
  });

  test('claims and limits', () => {
    refuses({ ...all, issuer: [] }, /issuer must be/);
    refuses({ ...all, audience: [''] }, /audience must hold non-empty strings/);
    refuses({ ...all, usernameClaim: '' }, /usernameClaim/);
    refuses({ ...all, clockToleranceSeconds: -1 }, /clockToleranceSeconds/);
    refuses({ ...all, maxTokenBytes: 1.5 }, /maxTokenBytes/);
    refuses({ ...all, requireExpiry: 'yes' }, /requireExpiry/);
  });
});
