/**
 * TLS settings shared by the tls and wss listeners: certificate files read at start and on reload,
 * TLS 1.2 at least, optional client certificates, and the username a client certificate stands for.
 */
import { readFileSync } from 'node:fs';
import type { PeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import type { ListenerConfig } from '../config/schema.js';

export interface TlsServerOptions extends SecureContextOptions {
  requestCert: boolean;
  rejectUnauthorized: boolean;
  minVersion: 'TLSv1.2';
}

/** Reads the listener's PEM files now (start-up, or a reload). */
export function tlsOptions(config: ListenerConfig): TlsServerOptions {
  const options: TlsServerOptions = {
    cert: readFileSync(config.cert!),
    key: readFileSync(config.key!),
    minVersion: 'TLSv1.2',
    // A CA means client certificates are asked for; required only when the listener says so.
    requestCert: config.ca !== undefined || config.requireClientCertificate === true,
    rejectUnauthorized: config.requireClientCertificate === true,
  };
  if (config.ca !== undefined) options.ca = readFileSync(config.ca);
  return options;
}

/** The subject of a certificate as one line: "CN=device-42, O=acme". */
function subjectLine(certificate: PeerCertificate): string {
  return Object.entries(certificate.subject ?? {})
    .map(([name, value]) => `${name}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');
}

/**
 * The username a verified client certificate stands for, when the listener maps certificates to
 * usernames; undefined when it doesn't, or the client sent none, or it did not verify.
 */
export function certificateUsername(socket: TLSSocket, config: ListenerConfig): string | undefined {
  const mode = config.certificateUsername ?? 'none';
  if (mode === 'none' || !socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  if (certificate === undefined || Object.keys(certificate).length === 0) return undefined;
  if (mode === 'subject') return subjectLine(certificate);
  const cn = certificate.subject?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}
