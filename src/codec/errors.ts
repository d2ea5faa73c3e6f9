/**
 * The codec's one error type. `code` is stable (documented, matched by the core); `reasonCode` is the
 * MQTT 5 reason code a server sends in its CONNACK or DISCONNECT before closing. For MQTT 3.1/3.1.1 the
 * only answer is to close the connection, except UNSUPPORTED_PROTOCOL_VERSION, which the core answers
 * with CONNACK return code 1 [MQTT-3.1.2-2].
 */

export type CodecErrorCode =
  | 'MALFORMED_PACKET'
  | 'PROTOCOL_ERROR'
  | 'PACKET_TOO_LARGE'
  | 'UNSUPPORTED_PROTOCOL_VERSION'
  | 'UNSUPPORTED_PROTOCOL_NAME';

const REASON: Record<CodecErrorCode, number> = {
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  PACKET_TOO_LARGE: 0x95,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  // An unknown protocol name may be anything, even a different protocol: MQTT 5.0 §3.1.2.1 lets the
  // server answer 0x84 before closing, which is the kindest answer a stranger can understand.
  UNSUPPORTED_PROTOCOL_NAME: 0x84,
};

export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;
  readonly reasonCode: number;
  /** The protocol level a CONNECT asked for, on UNSUPPORTED_PROTOCOL_VERSION and _NAME. */
  readonly protocolVersion: number | undefined;

  constructor(code: CodecErrorCode, message: string, protocolVersion?: number) {
    super(message);
    this.code = code;
    this.reasonCode = REASON[code];
    this.protocolVersion = protocolVersion;
  }
}

export function malformed(message: string): CodecError {
  return new CodecError('MALFORMED_PACKET', message);
}

export function protocolError(message: string): CodecError {
  return new CodecError('PROTOCOL_ERROR', message);
}
