/**
 * encode(): one packet to one exactly-sized Buffer, sized in a first pass and written in a second with
 * no intermediate buffers. The input is trusted (the broker made it): the encoder does not validate,
 * but for any valid packet it writes only bytes the decoder accepts, in the shortest legal form.
 */
import { encodeAck } from './acks.js';
import { encodeConnack, encodeConnect } from './connect.js';
import { encodePing, encodeReasonAndProps } from './control.js';
import type { Packet, ProtocolVersion } from './packets.js';
import { encodePublish } from './publish.js';
import { encodeSuback, encodeSubscribe, encodeUnsuback, encodeUnsubscribe } from './subscribe.js';

/** Encodes `packet` for a peer speaking `version`; a CONNECT is always encoded at its own level. */
export function encode(packet: Packet, version: ProtocolVersion): Buffer {
  switch (packet.type) {
    case 'publish':
      return encodePublish(packet, version);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return encodeAck(packet, version);
    case 'connect':
      return encodeConnect(packet);
    case 'connack':
      return encodeConnack(packet, version);
    case 'subscribe':
      return encodeSubscribe(packet, version);
    case 'suback':
      return encodeSuback(packet, version);
    case 'unsubscribe':
      return encodeUnsubscribe(packet, version);
    case 'unsuback':
      return encodeUnsuback(packet, version);
    case 'pingreq':
    case 'pingresp':
      return encodePing(packet.type);
    case 'disconnect':
      return encodeReasonAndProps(packet, version);
    case 'auth':
      if (version !== 5) throw new TypeError('AUTH exists only in MQTT 5');
      return encodeReasonAndProps(packet, version);
  }
}
