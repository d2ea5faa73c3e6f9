#!/usr/bin/env node
import { runPasswd } from './auth/passwd-command.js';
/** The `midge` command: flags and config, start, one line per listener, graceful shutdown on signals. */
import { loadCommandLine, USAGE } from './config/load.js';
import { ConfigError } from './config/validate.js';
import { VERSION } from './core/sys.js';
import { createBroker } from './server.js';

async function main(): Promise<void> {
  if (process.argv[2] === 'passwd') {
    process.exitCode = await runPasswd(process.argv.slice(3), process);
    return;
  }
  let commandLine: ReturnType<typeof loadCommandLine>;
  try {
    commandLine = loadCommandLine(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`midge: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (commandLine.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (commandLine.version) {
    process.stdout.write(`midge ${VERSION}\n`);
    return;
  }
  if (commandLine.config.listeners.length === 0) {
    process.stderr.write(
      'midge: configuration error: listeners: none left (port 0 disables the TCP listener)\n',
    );
    process.exit(2);
  }
  const broker = createBroker(commandLine.config, { configSource: commandLine.source });
  // Signal handlers first: a signal that arrives while the listeners open still stops cleanly.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      broker.log.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    broker.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => process.exit(0), broker.config.shutdownTimeout + 2000);
    deadline.unref();
    broker.close().then(
      () => {
        broker.log.info('stopped');
        broker.log.flush?.();
        process.exit(0);
      },
      (error: unknown) => {
        broker.log.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    broker.log.info('SIGHUP: reloading certificates, password file and ACL');
    void broker.reload();
  });
  let addresses: Awaited<ReturnType<typeof broker.listen>>;
  try {
    addresses = await broker.listen();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`midge: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    const err = error as NodeJS.ErrnoException;
    process.stderr.write(`midge: cannot start: ${err.message}\n`);
    process.exit(1);
  }
  for (const address of addresses) {
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    process.stdout.write(
      `midge listening mqtt ${address.type} ${host}:${address.port}${address.path ?? ''}\n`,
    );
  }
  broker.log.info({ version: VERSION, listeners: addresses.length }, 'midge started');
}

void main();
