// The protocol as the browser speaks it: the types generated from
// proto/circle/v1/circle.proto (src/gen, made at build time), and the framing
// rules: one ClientMessage per binary WebSocket message; a ServerMessage may be
// a ServerBatch, whose elements are handled in order as if each came alone.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ClientMessageSchema,
  ServerMessageSchema,
  type ClientMessage,
  type ServerMessage,
} from "./gen/circle/v1/circle_pb";

export * from "./gen/circle/v1/circle_pb";
export { create };

export function encodeClientMessage(message: ClientMessage): Uint8Array {
  return toBinary(ClientMessageSchema, message);
}

// Every ServerMessage one WebSocket message carries, batches unwrapped; throws
// when the bytes are not a ServerMessage.
export function decodeServerMessages(bytes: Uint8Array): ServerMessage[] {
  const message = fromBinary(ServerMessageSchema, bytes);
  if (message.payload.case === "batch") return message.payload.value.messages;
  return [message];
}

export function newClientMessage(
  requestId: bigint,
  payload: ClientMessage["payload"],
): ClientMessage {
  return create(ClientMessageSchema, { requestId, payload });
}
