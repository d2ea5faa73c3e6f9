// Aedes on a plain node:net server, as Aedes' README shows; started by the benchmark as a peer.
//   node dist/bench/aedes-server.js --port 1883 --host 127.0.0.1

import net from 'node:net';
import { Aedes } from 'aedes';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const port = Number(flag('port', '1883'));
const host = flag('host', '127.0.0.1');

const broker = await Aedes.createBroker();
const server = net.createServer((socket) => {
  broker.handle(socket);
});

server.on('error', (err) => {
  console.error(`aedes-server: ${err.message}`);
  process.exit(1);
});
server.listen(port, host, () => {
  console.log(`aedes-server: listening on ${host}:${port}`);
});

function shutdown(): void {
  setTimeout(() => process.exit(0), 1_000).unref();
  server.close();
  broker.close(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
