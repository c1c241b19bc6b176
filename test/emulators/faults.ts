/**
 * Programmable failures, queued per emulator: `emulator.faults.push({ status: 500, times: 2 })`.
 * Faults are consumed in order: the first one whose `match` accepts the request applies and its
 * `times` is decremented (default 1; `Infinity` for "always").
 */
import type { ServerResponse } from 'node:http';
import { sendJson, sendText, type Sleeper } from './http-util';

export interface Fault<R> {
  match?: (req: R) => boolean;
  /** Answer with this status instead of the normal response. */
  status?: number;
  /** JSON for objects, text/plain for strings (override with a Content-Type header). */
  body?: object | string;
  /** Sent with the fault's answer, or added to the normal response when there is no `status`. */
  headers?: Record<string, string>;
  /** Send a TCP RST (client sees ECONNRESET). */
  resetConnection?: boolean;
  /**
   * Wait first; without `status`/`resetConnection` the normal response follows the delay (and
   * carries `headers`: a "delayed, not blocked" answer with Retry-After / X-RateLimit-Delay).
   */
  delayMs?: number;
  times?: number;
}

export function takeFault<R>(faults: Fault<R>[], req: R): Fault<R> | undefined {
  const index = faults.findIndex((f) => !f.match || f.match(req));
  if (index < 0) return undefined;
  const fault = faults[index];
  const left = (fault.times ?? 1) - 1;
  if (left <= 0) faults.splice(index, 1);
  else faults[index] = { ...fault, times: left };
  return fault;
}

/** Applies a fault; resolves true when it answered (or killed) the request itself. */
export async function applyFault<R>(fault: Fault<R>, res: ServerResponse, sleeper: Sleeper): Promise<boolean> {
  if (fault.delayMs) await sleeper.sleep(fault.delayMs);
  if (fault.resetConnection) {
    res.socket?.resetAndDestroy();
    return true;
  }
  const headers = fault.headers ?? {};
  if (fault.status === undefined) {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    return false;
  }
  if (fault.body === undefined) {
    res.writeHead(fault.status, headers);
    res.end();
  } else if (typeof fault.body === 'string') {
    const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
    sendText(res, fault.status, fault.body, type, headers);
  } else {
    sendJson(res, fault.status, fault.body, headers);
  }
  return true;
}
