// Shared by the browser test pages (mqttjs.html, paho.html); loaded BEFORE the MQTT client library.
// Plain browser JavaScript, no build step. Every wait here is bounded.

(() => {
  // Record every WebSocket the page opens: the subprotocols it offered and the one the server chose.
  const sockets = [];
  const NativeWebSocket = window.WebSocket;
  class RecordingWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const entry = {
        url: String(url),
        offered: protocols === undefined ? [] : [].concat(protocols),
        protocol: null,
        closeCode: null,
      };
      sockets.push(entry);
      this.addEventListener('open', () => {
        entry.protocol = this.protocol;
      });
      this.addEventListener('close', (e) => {
        entry.closeCode = e.code;
      });
    }
  }
  window.WebSocket = RecordingWebSocket;

  function withTimeout(promise, ms, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      promise.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  function hex(bytes) {
    let s = '';
    for (const b of bytes) s += b.toString(16).padStart(2, '0');
    return s;
  }

  function fromHex(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(i * 2, i * 2 + 2), 16);
    return out;
  }

  // The same deterministic bytes as pattern() in test/browser/harness.ts.
  function pattern(length) {
    const b = new Uint8Array(length);
    for (let i = 0; i < length; i++) b[i] = (i * 31 + 7) & 0xff;
    return b;
  }

  // A payload description from the test: { text } or { pattern: length }.
  function payloadBytes(p) {
    if (typeof p.text === 'string') return new TextEncoder().encode(p.text);
    if (typeof p.pattern === 'number') return pattern(p.pattern);
    throw new Error(`bad payload description ${JSON.stringify(p)}`);
  }

  // What the test sees of one message: small payloads as text, every payload by length and SHA-256.
  async function summarize(topic, bytes, fields) {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', view));
    return {
      topic,
      length: view.byteLength,
      text: view.byteLength <= 4096 ? new TextDecoder().decode(view) : null,
      sha256: hex(digest),
      ...fields,
    };
  }

  // Messages one client received, in order; next() waits for one, bounded.
  function makeInbox(name) {
    const queue = [];
    let waiter = null;
    return {
      push(summaryPromise) {
        if (waiter) {
          const w = waiter;
          waiter = null;
          clearTimeout(w.timer);
          w.resolve(summaryPromise);
        } else {
          queue.push(summaryPromise);
        }
      },
      next(timeoutMs) {
        if (queue.length > 0) return queue.shift();
        if (waiter) return Promise.reject(new Error(`${name}: only one next() may wait at a time`));
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            waiter = null;
            reject(new Error(`${name}: no message within ${timeoutMs} ms`));
          }, timeoutMs);
          waiter = { resolve, timer };
        });
      },
      get size() {
        return queue.length;
      },
    };
  }

  window.common = { sockets, withTimeout, hex, fromHex, pattern, payloadBytes, summarize, makeInbox };
})();
