// Waits between reconnect attempts: doubling from `initialMs` up to `maxMs`,
// each drawn between half and all of that figure, so that clients dropped
// together do not come back together. Pure: the random source is passed in.
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 500, maxMs: 30_000 };

export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = defaultBackoff,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

// Whether a WebSocket close is worth reconnecting after (as client/lib's
// worth_reconnecting): a broken transport, the server going away or
// restarting, a server error, being dropped as too slow. Not after a refusal
// (a bad token, a protocol error, a policy) that would only repeat.
export function worthReconnecting(code: number, reason: string): boolean {
  switch (code) {
    case 1001:
    case 1005:
    case 1006:
    case 1011:
    case 1012:
    case 1013:
      return true;
    case 1008:
      return reason.startsWith("too slow");
    default:
      return false;
  }
}

// Sends go out at no more than half the request rate and burst the server
// advertised, so a queue resent after a reconnect is not refused in part.
export class SendPacer {
  private perMs = 0;
  private capacity = 1;
  private tokens = 1;
  private updatedMs = 0;

  setLimits(requestsPerSecond: number, requestBurst: number, nowMs: number): void {
    this.perMs = requestsPerSecond / 2000;
    this.capacity = Math.max(1, requestBurst / 2);
    this.tokens = this.capacity;
    this.updatedMs = nowMs;
  }

  // 0 when a send may go now (and counts it); else how long to wait, ms.
  take(nowMs: number): number {
    if (this.perMs <= 0) return 0;
    this.tokens = Math.min(this.capacity, this.tokens + (nowMs - this.updatedMs) * this.perMs);
    this.updatedMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) / this.perMs);
  }
}
