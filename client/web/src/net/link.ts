// The browser's connection to circled, as client/lib's ReconnectingConnection:
// request ids and one reply per request, ServerBatch unwrapping, reconnects
// with jittered backoff, hello again, re-join of each room from its last seq
// (resume_after_seq), then the resend of every message not yet acknowledged
// with its client_message_id, so that nothing is posted twice or lost.
//
// Requests other than sends are not retried: one in flight when the link
// drops, or made while it is down, is answered with ERROR_CODE_UNAVAILABLE.
import {
  ErrorCode,
  ErrorSchema,
  HelloSchema,
  JoinRoomRequestSchema,
  ProtocolVersion,
  SendMessageRequestSchema,
  ServerMessageSchema,
  create,
  decodeServerMessages,
  encodeClientMessage,
  newClientMessage,
  type ClientMessage,
  type ServerMessage,
  type Welcome,
} from "../protocol";
import { SendPacer, backoffDelay, worthReconnecting, type BackoffPolicy } from "./backoff";

export type LinkStatus =
  | { state: "connecting" }
  | { state: "online" }
  | { state: "reconnecting"; attempt: number; retryInMs: number; reason: string }
  | { state: "rejoining" }
  | { state: "closed"; reason: string; code: number };

// Who says hello: with an account token, or as a guest with an invite.
export interface HelloFields {
  token?: string;
  invite?: string;
  guestKey?: string;
  displayName: string;
}

export interface LinkHandlers {
  // Room and private events (request_id 0), in the order they arrived.
  onEvent(message: ServerMessage): void;
  onStatus(status: LinkStatus): void;
  // The server's answer to a join the link made itself after a reconnect.
  onRejoin(roomId: string, reply: ServerMessage): void;
  // A send's final answer: its ack, or the error that refused it.
  onSendAnswered(clientMessageId: string, reply: ServerMessage): void;
}

interface PendingSend {
  clientMessageId: string;
  message: ClientMessage;
  inFlight: boolean;
}

type Reply = (message: ServerMessage) => void;

// Hellos refused for now, in a row, before the link gives up.
const kMaxRefusedRetries = 10;

// A refusal that passes by itself: asked again later, not given up on.
export function passesByItself(code: ErrorCode): boolean {
  return code === ErrorCode.UNAVAILABLE || code === ErrorCode.RATE_LIMITED;
}

export function errorReply(code: ErrorCode, text: string): ServerMessage {
  return create(ServerMessageSchema, {
    payload: { case: "error", value: create(ErrorSchema, { code, message: text }) },
  });
}

export class CircleLink {
  private socket: WebSocket | undefined;
  private nextRequestId = 1n;
  private waiting = new Map<bigint, Reply>();
  private sends: PendingSend[] = [];
  private rooms = new Map<string, bigint>(); // room id -> last seq seen
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pacer = new SendPacer();
  private paceTimer: ReturnType<typeof setTimeout> | undefined;
  private online = false;
  private closedForGood = false;
  welcome: Welcome | undefined;

  constructor(
    private readonly url: string,
    private readonly hello: HelloFields,
    private readonly handlers: LinkHandlers,
    private readonly backoff?: BackoffPolicy,
  ) {}

  // The first connect: resolves with the Welcome, rejects with why (not
  // retried: a wrong token should be said at once).
  connect(): Promise<Welcome> {
    this.handlers.onStatus({ state: "connecting" });
    return new Promise((resolve, reject) => {
      this.open(
        (welcome) => resolve(welcome),
        (why) => reject(new Error(why)),
      );
    });
  }

  // One request, one reply (an Error reply when refused or when the link drops).
  request(payload: ClientMessage["payload"]): Promise<ServerMessage> {
    return new Promise((resolve) => {
      if (!this.online || !this.socket) {
        resolve(errorReply(ErrorCode.UNAVAILABLE, "not connected: try again in a moment"));
        return;
      }
      const id = this.nextRequestId++;
      this.waiting.set(id, resolve);
      this.socket.send(encodeClientMessage(newClientMessage(id, payload)));
    });
  }

  // Joins a room and remembers it, to re-join it after a reconnect.
  async join(roomId: string): Promise<ServerMessage> {
    const reply = await this.request({
      case: "joinRoom",
      value: create(JoinRoomRequestSchema, { roomId }),
    });
    if (reply.payload.case === "joinRoom") this.rooms.set(roomId, 0n);
    return reply;
  }

  forget(roomId: string): void {
    this.rooms.delete(roomId);
  }

  // The newest seq the app holds for a room: a re-join resumes after it.
  noteSeq(roomId: string, seq: bigint): void {
    if (this.rooms.has(roomId) && seq > (this.rooms.get(roomId) ?? 0n)) this.rooms.set(roomId, seq);
  }

  // Queues a message; it goes now when online, else after the reconnect,
  // and is resent with the same client_message_id until answered.
  send(roomId: string, text: string, contentWarning: string): string {
    const clientMessageId = crypto.randomUUID();
    const message = newClientMessage(0n, {
      case: "sendMessage",
      value: create(SendMessageRequestSchema, { roomId, text, clientMessageId, contentWarning }),
    });
    this.sends.push({ clientMessageId, message, inFlight: false });
    this.flushSends();
    return clientMessageId;
  }

  unacknowledgedSends(): number {
    return this.sends.length;
  }

  // Closes for good.
  close(): void {
    this.closedForGood = true;
    this.online = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.paceTimer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, "left");
    this.failWaiting("closed");
  }

  // The network is gone (the browser said so): drop the socket now rather
  // than wait for TCP to notice, and come back when it returns.
  networkLost(): void {
    if (this.closedForGood || !this.socket) return;
    this.lost(1006, "the network is unavailable");
  }

  networkBack(): void {
    if (this.closedForGood || this.socket) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.reconnect();
  }

  private open(
    onWelcome: (welcome: Welcome) => void,
    onRefused: (why: string, code?: ErrorCode) => void,
  ): void {
    const socket = new WebSocket(this.url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    let welcomed = false;
    let helloId = 0n;
    socket.onopen = () => {
      const id = this.nextRequestId++;
      helloId = id;
      this.waiting.set(id, (reply) => {
        if (reply.payload.case === "welcome") {
          welcomed = true;
          this.welcome = reply.payload.value;
          const limits = reply.payload.value.limits;
          this.pacer.setLimits(
            limits?.requestsPerSecond ?? 0,
            limits?.requestBurst ?? 1,
            performance.now(),
          );
          this.attempt = 0;
          onWelcome(reply.payload.value);
        } else {
          const error = reply.payload.case === "error" ? reply.payload.value : undefined;
          // The first hello refused: final (the close that follows adds nothing).
          if (this.welcome === undefined) this.closedForGood = true;
          onRefused(error?.message ?? "unexpected reply", error?.code);
        }
      });
      socket.send(
        encodeClientMessage(
          newClientMessage(id, {
            case: "hello",
            value: create(HelloSchema, {
              protocolVersion: ProtocolVersion.PROTOCOL_VERSION_1,
              clientName: "circle-web",
              token: this.hello.token ?? "",
              invite: this.hello.invite ?? "",
              guestKey: this.hello.guestKey ?? "",
              displayName: this.hello.displayName,
            }),
          }),
        ),
      );
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      let messages: ServerMessage[];
      try {
        messages = decodeServerMessages(new Uint8Array(event.data as ArrayBuffer));
      } catch {
        console.error("circle: a message from the server could not be read");
        return;
      }
      for (const message of messages) this.dispatch(message);
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      if (welcomed) {
        this.lost(event.code, event.reason);
        return;
      }
      // The hello goes unanswered with this socket.
      this.waiting.delete(helloId);
      this.socket = undefined;
      if (this.closedForGood) return;
      if (this.welcome === undefined) {
        // The first connect failed: say so at once.
        this.closedForGood = true;
        onRefused(event.reason || "could not connect to the server");
        this.handlers.onStatus({ state: "closed", reason: event.reason, code: event.code });
        return;
      }
      this.scheduleReconnect(event.reason || "the server cannot be reached");
    };
  }

  private dispatch(message: ServerMessage): void {
    if (message.requestId === 0n) {
      this.noteEvent(message);
      this.handlers.onEvent(message);
      return;
    }
    const reply = this.waiting.get(message.requestId);
    if (reply) {
      this.waiting.delete(message.requestId);
      reply(message);
    }
  }

  private noteEvent(message: ServerMessage): void {
    if (message.payload.case === "roomEvent") {
      this.noteSeq(message.payload.value.roomId, message.payload.value.seq);
    }
  }

  private lost(code: number, reason: string): void {
    this.dropQuietly();
    this.online = false;
    this.failWaiting("the connection dropped");
    for (const send of this.sends) send.inFlight = false;
    if (this.closedForGood) return;
    if (!worthReconnecting(code, reason)) {
      this.closedForGood = true;
      this.handlers.onStatus({ state: "closed", reason, code });
      return;
    }
    this.scheduleReconnect(reason || "the connection dropped");
  }

  private scheduleReconnect(reason: string): void {
    this.attempt += 1;
    const retryInMs = backoffDelay(this.attempt, this.backoff);
    this.handlers.onStatus({ state: "reconnecting", attempt: this.attempt, retryInMs, reason });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.reconnect(), retryInMs);
  }

  private reconnect(): void {
    if (this.closedForGood) return;
    this.open(
      () => void this.rejoin(),
      (why, code) => {
        // Refused for now (the account's places still held by connections
        // the server has not yet seen go, a restart): try again, a few times.
        const passes =
          code === ErrorCode.LIMIT_EXCEEDED ||
          code === ErrorCode.RATE_LIMITED ||
          code === ErrorCode.UNAVAILABLE;
        if (passes && (this.refusedInARow += 1) <= kMaxRefusedRetries) {
          this.dropQuietly();
          this.scheduleReconnect(why);
          return;
        }
        // The token expired or was revoked: nothing to retry.
        this.closedForGood = true;
        this.handlers.onStatus({ state: "closed", reason: why, code: 1008 });
      },
    );
  }

  private refusedInARow = 0;

  private dropQuietly(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.close();
    }
  }

  private async rejoin(): Promise<void> {
    this.refusedInARow = 0;
    this.handlers.onStatus({ state: "rejoining" });
    this.online = true; // requests may go; sends wait for the rejoins
    const rooms = [...this.rooms.entries()];
    this.holdingSends = true;
    let passing = false;
    await Promise.all(
      rooms.map(async ([roomId, lastSeq]) => {
        const reply = await this.request({
          case: "joinRoom",
          value: create(JoinRoomRequestSchema, { roomId, resumeAfterSeq: lastSeq }),
        });
        if (reply.payload.case === "error" && passesByItself(reply.payload.value.code)) {
          // Unavailable or rate limited (a restart, a store fault, the link
          // dropping again): not a refusal. The room stays, and the whole
          // re-join is tried again with the backoff.
          passing = true;
          return;
        }
        if (reply.payload.case !== "joinRoom") this.rooms.delete(roomId);
        this.handlers.onRejoin(roomId, reply);
      }),
    );
    if (!this.online) return; // dropped again meanwhile
    if (passing) {
      this.lost(1013, "the server asks to try again in a moment");
      return;
    }
    this.holdingSends = false;
    this.handlers.onStatus({ state: "online" });
    this.flushSends();
  }

  private holdingSends = false;

  // The first connect is online once welcomed.
  markOnline(): void {
    this.online = true;
    this.handlers.onStatus({ state: "online" });
    this.flushSends();
  }

  private flushSends(): void {
    if (!this.online || this.holdingSends || !this.socket) return;
    clearTimeout(this.paceTimer);
    for (const send of this.sends) {
      if (send.inFlight) continue;
      const wait = this.pacer.take(performance.now());
      if (wait > 0) {
        this.paceTimer = setTimeout(() => this.flushSends(), wait);
        return;
      }
      send.inFlight = true;
      const id = this.nextRequestId++;
      send.message.requestId = id;
      this.waiting.set(id, (reply) => this.answered(send, reply));
      this.socket.send(encodeClientMessage(send.message));
    }
  }

  private answered(send: PendingSend, reply: ServerMessage): void {
    // UNAVAILABLE: the server could not store it now; it goes again after a
    // reconnect, with the same id (so it is never posted twice).
    if (reply.payload.case === "error" && reply.payload.value.code === ErrorCode.UNAVAILABLE) {
      send.inFlight = false;
      return;
    }
    this.sends = this.sends.filter((s) => s !== send);
    this.handlers.onSendAnswered(send.clientMessageId, reply);
  }

  private failWaiting(why: string): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const reply of waiting) reply(errorReply(ErrorCode.UNAVAILABLE, why));
  }
}
