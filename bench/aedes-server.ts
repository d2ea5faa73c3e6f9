// Aedes on a plain node:net server, as Aedes' README shows; started by the benchmark as a peer.
//   node dist/bench/aedes-server.js --port 1883 [--ws-port 8080 --ws-path /mqtt] --host 127.0.0.1
// MQTT over WebSocket as Aedes' docs/Examples.md shows ("MQTT server over WebSocket"): the `ws`
// package's WebSocketServer, each connection turned into a Duplex by createWebSocketStream and handed
// to aedes.handle (`websocket-stream`, which older Aedes READMEs used, is not installed).

import http from 'node:http';
import net from 'node:net';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const port = Number(flag('port', '1883'));
const wsPort = Number(flag('ws-port', '0'));
const wsPath = flag('ws-path', '/mqtt');
const host = flag('host', '127.0.0.1');

const broker = await Aedes.createBroker();
const server = net.createServer((socket) => {
  broker.handle(socket);
});

const fail = (err: Error): void => {
  console.error(`aedes-server: ${err.message}`);
  process.exit(1);
};
server.on('error', fail);
server.listen(port, host, () => {
  console.log(`aedes-server: listening on ${host}:${port}`);
});

let httpServer: http.Server | null = null;
if (wsPort > 0) {
  httpServer = http.createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    server: httpServer,
    path: wsPath,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });
  wss.on('connection', (websocket, req) => {
    const stream = createWebSocketStream(websocket);
    broker.handle(stream, req);
  });
  httpServer.on('error', fail);
  httpServer.listen(wsPort, host, () => {
    console.log(`aedes-server: WebSocket on ws://${host}:${wsPort}${wsPath}`);
  });
}

function shutdown(): void {
  setTimeout(() => process.exit(0), 1_000).unref();
  server.close();
  httpServer?.close();
  broker.close(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
