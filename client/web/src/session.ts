// One visit to one room: the link to circled, the room's state, and what the
// views may ask for. Views read `session` and call its methods; it tells them
// when anything changed. No DOM here.
import {
  CreateRoomRequestSchema,
  ErrorCode,
  LeaveReason,
  RoomActionRequestSchema,
  type MemberLeft,
  create,
  type RoomActionResponse,
  type ServerMessage,
} from "./protocol";
import { CircleLink, passesByItself, type HelloFields, type LinkStatus } from "./net/link";
import { RoomState } from "./state/room";
import { refusalText, supportOutcomeText } from "./state/words";

export type Phase =
  | { screen: "connecting" }
  | { screen: "waiting" } // in the room's waiting room
  | { screen: "not-open" } // the room does not exist yet; asked again now and then
  | { screen: "room" }
  | { screen: "refused"; why: string } // not let in (or no longer)
  | { screen: "left" };

type ActionInit = NonNullable<Parameters<typeof create<typeof RoomActionRequestSchema>>[1]>;
export type RoomActionInit = ActionInit["action"];

// How often a room not yet open is asked for again.
const kNotOpenRetryMs = 5000;
// How soon a join refused for now (unavailable, rate limited) is asked again.
const kRetryJoinMs = 2000;

function youLeftText(left: MemberLeft): string {
  const by = left.by?.displayName ?? "A facilitator";
  const note = left.note ? ` (${left.note})` : "";
  switch (left.reason) {
    case LeaveReason.REMOVED:
      return `${by} asked you to leave the room${note}. You may join again later.`;
    case LeaveReason.BANNED:
      return `${by} removed you from this room${note}. You cannot join it again.`;
    case LeaveReason.SESSION_ENDED:
      return "The session has ended.";
    default:
      return "You left the room.";
  }
}

export function errorText(reply: ServerMessage): string | undefined {
  if (reply.payload.case !== "error") return undefined;
  const error = reply.payload.value;
  return error.message || ErrorCode[error.code] || "refused";
}

export class Session {
  readonly room: RoomState;
  phase: Phase = { screen: "connecting" };
  status: LinkStatus = { state: "connecting" };
  lastPostMs: number | undefined;
  // Whether this visit ever got into the room (or its waiting room).
  joinedOnce = false;
  // Something to say to screen-reader users now (a new message, your turn).
  announcement = "";
  private link: CircleLink;
  private listeners = new Set<() => void>();

  constructor(
    url: string,
    readonly roomId: string,
    hello: HelloFields,
    // Open the room when it does not exist yet (a facilitator's link).
    private readonly open?: { title: string },
  ) {
    this.room = new RoomState(roomId);
    this.link = new CircleLink(url, hello, {
      onEvent: (message) => this.onEvent(message),
      onStatus: (status) => {
        this.status = status;
        if (status.state === "closed" && this.phase.screen !== "left") {
          this.phase = { screen: "refused", why: status.reason || "The connection was closed." };
        }
        this.changed();
      },
      onRejoin: (_roomId, reply) => this.onJoinReply(reply, true),
      onSendAnswered: (clientMessageId, reply) => {
        const why = errorText(reply);
        if (why) this.room.refusePending(clientMessageId, why);
        else this.lastPostMs = Date.now();
        this.changed();
      },
    });
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    try {
      await this.link.connect();
    } catch (error) {
      this.phase = { screen: "refused", why: refusalText((error as Error).message) };
      this.changed();
      return;
    }
    this.link.markOnline();
    await this.joinOrOpen();
  }

  private notOpenTimer: ReturnType<typeof setTimeout> | undefined;

  private async joinOrOpen(): Promise<void> {
    let reply = await this.link.join(this.roomId);
    const notFound =
      reply.payload.case === "error" && reply.payload.value.code === ErrorCode.ROOM_NOT_FOUND;
    if (notFound && this.open) {
      const created = await this.link.request({
        case: "createRoom",
        value: create(CreateRoomRequestSchema, {
          roomId: this.roomId,
          title: this.open.title || this.roomId,
        }),
      });
      const raced =
        created.payload.case === "error" &&
        created.payload.value.code === ErrorCode.ROOM_ALREADY_EXISTS;
      if (created.payload.case === "error" && !raced) {
        this.onJoinReply(created, false);
        return;
      }
      reply = await this.link.join(this.roomId);
    } else if (reply.payload.case === "error" && passesByItself(reply.payload.value.code)) {
      // Unavailable or rate limited: try again shortly, still joining.
      this.notOpenTimer = setTimeout(() => void this.joinOrOpen(), kRetryJoinMs);
      return;
    } else if (notFound) {
      // A participant early for the group: wait for a facilitator to open it.
      this.phase = { screen: "not-open" };
      this.changed();
      this.notOpenTimer = setTimeout(() => void this.joinOrOpen(), kNotOpenRetryMs);
      return;
    }
    this.onJoinReply(reply, false);
  }

  // The browser lost or regained the network.
  networkLost(): void {
    this.link.networkLost();
  }
  networkBack(): void {
    this.link.networkBack();
  }

  post(text: string, contentWarning = ""): void {
    const clientMessageId = this.link.send(this.roomId, text, contentWarning);
    this.room.addPending(clientMessageId, text, contentWarning);
    this.changed();
  }

  // A room action; resolves with the reason it was refused, or undefined.
  async act(action: RoomActionInit, reason = ""): Promise<string | undefined> {
    const reply = await this.link.request({
      case: "roomAction",
      value: create(RoomActionRequestSchema, { roomId: this.roomId, reason, action }),
    });
    const why = errorText(reply);
    if (!why && reply.payload.case === "roomAction") this.onActionDone(action, reply.payload.value);
    this.changed();
    return why;
  }

  leave(): void {
    clearTimeout(this.notOpenTimer);
    this.phase = { screen: "left" };
    this.link.close();
    this.changed();
  }

  limits() {
    return this.link.welcome?.limits;
  }

  unacknowledgedSends(): number {
    return this.link.unacknowledgedSends();
  }

  private onActionDone(action: RoomActionInit, response: RoomActionResponse): void {
    if (action?.case === "createInvite" && response.invite) {
      this.room.invites.set(response.invite.inviteId, response.invite);
    }
    if (action?.case === "requestSupport") {
      if (response.support) {
        this.room.say(Date.now(), supportOutcomeText(response.support));
        if (response.support.resources) {
          this.room.say(Date.now(), `If you need help now: ${response.support.resources}`);
        }
      }
      if (response.alertId !== 0n && !this.room.yourOpenAlerts.has(response.alertId)) {
        this.room.yourOpenAlerts.set(response.alertId, {
          $typeName: "circle.v1.SupportAlert",
          alertId: response.alertId,
          text: "",
          raisedAtUnixMs: BigInt(Date.now()),
          acknowledgedAtUnixMs: 0n,
          accountId: "",
          escalatedAtUnixMs: 0n,
          escalationReason: 0,
        });
      }
    }
  }

  private onJoinReply(reply: ServerMessage, rejoin: boolean): void {
    if (reply.payload.case === "joinRoom") {
      const join = reply.payload.value;
      this.joinedOnce = true;
      if (join.waiting) {
        this.phase = { screen: "waiting" };
      } else if (join.snapshot) {
        this.room.applySnapshot(join.snapshot, rejoin && join.resumed);
        this.link.noteSeq(this.roomId, this.room.lastSeq);
        this.phase = { screen: "room" };
      }
    } else {
      this.phase = {
        screen: "refused",
        why: refusalText(errorText(reply) ?? "You could not join."),
      };
    }
    this.changed();
  }

  private onEvent(message: ServerMessage): void {
    const payload = message.payload;
    if (payload.case === "roomEvent" && payload.value.roomId === this.roomId) {
      const event = payload.value;
      const wasYourTurn = this.yourTurn();
      this.room.applyEvent(event);
      if (event.kind.case === "messagePosted" && event.kind.value.sender) {
        const sender = event.kind.value.sender;
        if (
          sender.memberId !== this.room.yourMemberId &&
          !this.room.hides(this.room.lines.at(-1)!)
        ) {
          this.announcement = event.kind.value.contentWarning
            ? `${sender.displayName}: a message with a content warning: ${event.kind.value.contentWarning}`
            : `${sender.displayName}: ${event.kind.value.text}`;
        }
      }
      if (!wasYourTurn && this.yourTurn()) this.announcement = "It is your turn in the round.";
      if (
        event.kind.case === "memberLeft" &&
        event.kind.value.member?.memberId === this.room.yourMemberId
      ) {
        this.phase = { screen: "refused", why: youLeftText(event.kind.value) };
        this.link.forget(this.roomId);
      }
    } else if (payload.case === "privateEvent" && payload.value.roomId === this.roomId) {
      const event = payload.value;
      if (event.kind.case === "admission") {
        if (event.kind.value.admitted && event.kind.value.snapshot) {
          this.room.applySnapshot(event.kind.value.snapshot);
          this.link.noteSeq(this.roomId, this.room.lastSeq);
          this.phase = { screen: "room" };
          this.announcement = "You were let in.";
        } else {
          this.phase = { screen: "refused", why: "A facilitator did not let you in this time." };
          this.link.forget(this.roomId);
        }
      } else {
        this.room.applyPrivate(event);
        if (event.kind.case === "directMessage") {
          this.announcement = `Private message from ${event.kind.value.from?.displayName ?? "someone"}`;
        }
      }
    }
    this.changed();
  }

  yourTurn(): boolean {
    const round = this.room.round;
    return (
      !!round?.active &&
      round.speakerMemberId === this.room.yourMemberId &&
      this.room.yourMemberId !== 0n
    );
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
