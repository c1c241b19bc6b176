/**
 * Programmable failures, queued per emulator: `emulator.faults.push({ status: 500, times: 2 })`.
 * Faults are consumed in order: the first one whose `match` accepts the request applies and its
 * `times` is decremented (default 1; `Infinity` for "always").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { flattenHeaders, queryObject, readBody, requestUrl, sendJson, sendText, type RecordedRequest, type Sleeper } from './http-util';

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

/**
 * The common start of a simple emulator's handler (identity endpoints, Entra): record the request (with
 * `pathOf` deciding how its path is shown), note its status when answered, and apply the first matching
 * fault. Resolves undefined when the fault answered the request itself.
 */
export async function recordAndFault(
  req: IncomingMessage, res: ServerResponse, requests: RecordedRequest[], faults: Fault<RecordedRequest>[], sleeper: Sleeper,
  pathOf: (url: URL) => string,
): Promise<{ record: RecordedRequest; url: URL } | undefined> {
  const url = requestUrl(req);
  const record: RecordedRequest = {
    time: Date.now(),
    method: req.method ?? 'GET',
    path: pathOf(url),
    query: queryObject(url),
    headers: flattenHeaders(req.headers),
    body: (await readBody(req)).toString(),
  };
  requests.push(record);
  res.on('finish', () => (record.status = res.statusCode));
  const fault = takeFault(faults, record);
  return fault && (await applyFault(fault, res, sleeper)) ? undefined : { record, url };
}
