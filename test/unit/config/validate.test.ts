import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCommandLine } from '../../../src/config/load.js';
import { DEFAULT_CONFIG } from '../../../src/config/schema.js';
import { applyConfig, ConfigError, checkConfig, resolveConfig } from '../../../src/config/validate.js';

function error(input: unknown): ConfigError {
  try {
    applyConfig(DEFAULT_CONFIG, input, 'midge.json');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  test('defaults: TCP on 1883 and WebSocket on 8080 /mqtt, every interface', () => {
    const config = resolveConfig();
    assert.deepEqual(config.listeners, [
      { type: 'tcp', host: '', port: 1883 },
      { type: 'ws', host: '', port: 8080, path: '/mqtt' },
    ]);
    assert.equal(config.maxPacketSize, 16 * 1024 * 1024);
  });

  test('port shortcuts change the first listener of their type; 0 removes it; host applies to all', () => {
    assert.deepEqual(
      applyConfig(DEFAULT_CONFIG, { port: 1884, wsPath: '/ws', host: '127.0.0.1' }, 'x').listeners,
      [
        { type: 'tcp', host: '127.0.0.1', port: 1884 },
        { type: 'ws', host: '127.0.0.1', port: 8080, path: '/ws' },
      ],
    );
    assert.deepEqual(applyConfig(DEFAULT_CONFIG, { port: 0, wsPort: 0 }, 'x').listeners, []);
    assert.deepEqual(
      applyConfig(
        DEFAULT_CONFIG,
        { wsPort: 0, tlsPort: 8883, wssPort: 8443, cert: 'c.pem', key: 'k.pem' },
        'x',
      ).listeners,
      [
        { type: 'tcp', host: '', port: 1883 },
        { type: 'tls', host: '', port: 8883, cert: 'c.pem', key: 'k.pem' },
        { type: 'wss', host: '', port: 8443, path: '/mqtt', cert: 'c.pem', key: 'k.pem' },
      ],
    );
  });

  test('a tls listener needs a certificate and a key that can be read', () => {
    assert.throws(
      () => checkConfig(applyConfig(DEFAULT_CONFIG, { tlsPort: 8883 }, 'x'), 'x'),
      /listeners\[2\]\.cert: required/,
    );
    assert.throws(
      () =>
        checkConfig(applyConfig(DEFAULT_CONFIG, { tlsPort: 8883, cert: '/nope', key: '/nope' }, 'x'), 'x'),
      /listeners\[2\]\.cert: cannot read \/nope: ENOENT/,
    );
  });

  test('listeners list replaces the default, port 0 there means an ephemeral port', () => {
    const config = applyConfig(
      DEFAULT_CONFIG,
      { listeners: [{ type: 'tcp', host: '::1', port: 0, maxPacketSize: 1024 }] },
      'x',
    );
    assert.deepEqual(config.listeners, [{ type: 'tcp', host: '::1', port: 0, maxPacketSize: 1024 }]);
  });

  test('does not modify its base', () => {
    applyConfig(DEFAULT_CONFIG, { port: 1 }, 'x');
    assert.equal(DEFAULT_CONFIG.listeners[0]?.port, 1883);
  });

  const cases: Array<[string, unknown, string, RegExp]> = [
    ['not an object', [1], '(top level)', /JSON object/],
    ['unknown key', { maxInflights: 1 }, 'maxInflights', /unknown key/],
    ['string for integer', { maxInflight: '5' }, 'maxInflight', /integer from 1 to 65535 \(got "5"\)/],
    ['fraction', { connectTimeout: 1.5 }, 'connectTimeout', /integer/],
    ['below range', { maxClientIdLength: 22 }, 'maxClientIdLength', /from 23/],
    ['log level', { logLevel: 'loud' }, 'logLevel', /one of fatal, error/],
    ['boolean', { queueQos0: 'yes' }, 'queueQos0', /true or false/],
    ['listeners not array', { listeners: {} }, 'listeners', /array/],
    ['listener type', { listeners: [{ type: 'udp' }] }, 'listeners[0].type', /one of tcp, tls, ws, wss/],
    [
      'ws key on tcp',
      { listeners: [{ type: 'tcp', path: '/x' }] },
      'listeners[0].path',
      /only for ws and wss/,
    ],
    [
      'proxy address',
      { listeners: [{ type: 'ws', trustedProxies: ['x'] }] },
      'listeners[0].trustedProxies',
      /IP address/,
    ],
    [
      'frames',
      { listeners: [{ type: 'ws', packetsPerFrame: 'all' }] },
      'listeners[0].packetsPerFrame',
      /one of one, many/,
    ],
    ['listener key', { listeners: [{ prot: 1 }] }, 'listeners[0].prot', /unknown key/],
    ['listener port', { listeners: [{ port: 99999 }] }, 'listeners[0].port', /0 to 65535/],
    ['host type', { host: 5 }, 'host', /string/],
  ];
  for (const [what, input, key, reason] of cases) {
    test(`rejects ${what}, naming the key`, () => {
      const e = error(input);
      assert.equal(e.key, key);
      assert.equal(e.source, 'midge.json');
      assert.match(e.reason, reason);
      assert.match(e.message, new RegExp(`^midge\\.json: ${key.replace(/[[\].()]/g, '\\$&')}: `));
    });
  }
});

describe('security configuration', () => {
  test('flags set the password file, the ACL file and allowAnonymous', () => {
    const { config } = loadCommandLine([
      '--password-file',
      'u.passwd',
      '--acl-file',
      'm.acl',
      '--allow-anonymous',
    ]);
    assert.equal(config.passwordFile, 'u.passwd');
    assert.equal(config.aclFile, 'm.acl');
    assert.equal(config.allowAnonymous, true);
    assert.equal(loadCommandLine([]).config.allowAnonymous, undefined);
  });

  test('client certificates as identity need the CA that issues them', () => {
    const tls = {
      type: 'tls',
      port: 0,
      cert: 'test/fixtures/tls/server.pem',
      key: 'test/fixtures/tls/server-key.pem',
    };
    for (const extra of [{ certificateUsername: 'cn' }, { requireClientCertificate: true }]) {
      assert.throws(
        () => checkConfig(applyConfig(DEFAULT_CONFIG, { listeners: [{ ...tls, ...extra }] }, 'x'), 'x'),
        /^ConfigError: x: listeners\[0\]\.ca: required with /,
      );
    }
    const ok = { ...tls, certificateUsername: 'cn', ca: 'test/fixtures/tls/ca.pem' };
    assert.equal(checkConfig(applyConfig(DEFAULT_CONFIG, { listeners: [ok] }, 'x'), 'x').listeners.length, 1);
  });

  test('jwt and token keys are checked for shape', () => {
    const good = applyConfig(
      DEFAULT_CONFIG,
      {
        jwt: { algorithms: ['RS256'], publicKeys: [{ kid: 'k1', file: 'k.pem' }], audience: ['a', 'b'] },
        listeners: [{ type: 'ws', port: 0, tokenCookie: 'mqtt_token', tokenQueryParameter: 'token' }],
      },
      'midge.json',
    );
    assert.deepEqual(good.jwt?.publicKeys, [{ kid: 'k1', file: 'k.pem' }]);
    assert.equal(good.listeners[0]?.tokenCookie, 'mqtt_token');
    for (const [input, key] of [
      [{ jwt: { secret: 'x'.repeat(40) } }, 'jwt.algorithms'],
      [{ jwt: { algorithms: ['none'] } }, 'jwt.algorithms[0]'],
      [{ jwt: { algorithms: ['HS256'], secret: 's', secretFile: 'f' } }, 'jwt.secretFile'],
      [{ jwt: { algorithms: ['RS256'], publicKeys: [{ path: 'k.pem' }] } }, 'jwt.publicKeys[0].path'],
      [{ jwt: { algorithms: ['HS256'], colour: 1 } }, 'jwt.colour'],
      [{ listeners: [{ type: 'tcp', tokenCookie: 'a' }] }, 'listeners[0].tokenCookie'],
      [{ listeners: [{ type: 'ws', tokenCookie: 'a b' }] }, 'listeners[0].tokenCookie'],
      [{ allowAnonymous: 'yes' }, 'allowAnonymous'],
      [{ maxPublishRate: -1 }, 'maxPublishRate'],
    ] as const) {
      assert.equal(error(input).key, key, JSON.stringify(input));
    }
  });
});
