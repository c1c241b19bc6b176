// The agent's secret masker: every registered value is also masked in three encoded forms
// (agent src/Microsoft.VisualStudio.Services.Agent/HostContext.cs CreateSecretMasker; the encoders
// are Microsoft.TeamFoundation.DistributedTask.Logging.ValueEncoders), plus a regex for the
// password part of URLs. All matches are merged into ranges and each range becomes `***`.

/** JSON string escape as Newtonsoft's JsonConvert.ToString does it, without the quotes. */
export function jsonStringEscape(value: string): string {
  let out = '';
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (char === '"' || char === '\\') out += '\\' + char;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char === '\b') out += '\\b';
    else if (char === '\f') out += '\\f';
    else if (code < 0x20 || code === 0x85 || code === 0x2028 || code === 0x2029) {
      out += '\\u' + code.toString(16).padStart(4, '0');
    } else out += char;
  }
  return out;
}

/** .NET Uri.EscapeDataString: everything but RFC 3986 unreserved characters is %-encoded. */
export function uriDataEscape(value: string): string {
  try {
    return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  } catch {
    return value; // lone surrogate: .NET would substitute U+FFFD; no useful extra form to mask
  }
}

/** ValueEncoders.BackslashEscape — despite its name it *removes* one level of backslash escaping. */
export function backslashEscape(value: string): string {
  return value.replace(/\\\\/g, '\\').replace(/\\'/g, "'").replace(/\\"/g, '"').replace(/\\t/g, '\t');
}

const ENCODERS: ReadonlyArray<(value: string) => string> = [jsonStringEscape, uriDataEscape, backslashEscape];

// AdditionalMaskingRegexes.UrlSecretPattern: the password in scheme://user:password@host.
const URL_SECRET = /(?<=\/\/[^:/?#\n]+:)([\w.~-]|(%|%AZP25)[0-9a-fA-F]{2}|[!$&'()*+,;=]|:)+(?=@)/g;

/** Registers secret values and replaces them (and their encoded forms) with `***`. */
export class SecretMasker {
  private readonly patterns = new Set<string>();
  private readonly registered: string[] = [];

  /** Every value passed to addValue, in order, without the encoded forms. */
  get values(): readonly string[] {
    return this.registered;
  }

  /** Mask `value` and its JSON-, URI-data- and backslash-escaped forms. Empty values are ignored. */
  addValue(value: string): void {
    if (value.length === 0 || this.patterns.has(value)) return;
    this.registered.push(value);
    this.patterns.add(value);
    for (const encode of ENCODERS) {
      const encoded = encode(value);
      if (encoded.length > 0) this.patterns.add(encoded);
    }
  }

  /** Replace every occurrence of every secret form; overlapping or touching matches merge into one `***`. */
  mask(text: string): string {
    const ranges: Array<[number, number]> = [];
    for (const pattern of this.patterns) {
      for (let at = text.indexOf(pattern); at >= 0; at = text.indexOf(pattern, at + 1)) {
        ranges.push([at, at + pattern.length]);
      }
    }
    for (const match of text.matchAll(URL_SECRET)) ranges.push([match.index, match.index + match[0].length]);
    if (ranges.length === 0) return text;

    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let cursor = 0;
    let [start, end] = ranges[0] as [number, number];
    for (const [nextStart, nextEnd] of ranges.slice(1)) {
      if (nextStart <= end) {
        end = Math.max(end, nextEnd);
        continue;
      }
      out += text.substring(cursor, start) + '***';
      cursor = end;
      [start, end] = [nextStart, nextEnd];
    }
    return out + text.substring(cursor, start) + '***' + text.substring(end);
  }
}

const QUOTE_LIKE = ["'", '"'];

/**
 * Register a secret variable known at job start, as the worker does (Worker.cs
 * InitializeSecretMasker/AddUserSuppliedSecret): the value, its %AZP25/%0D/%0A-escaped forms,
 * its base64 (UTF-8) and that base64's escaped forms, plus quote- and whitespace-trimmed copies.
 * Runtime secrets get none of this — only SecretMasker.addValue.
 */
export function addJobStartSecret(masker: SecretMasker, value: string): void {
  if (value.trim().length === 0) return;
  const percentEscaped = (v: string): string => v.replace(/%/g, '%AZP25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const newlineEscaped = (v: string): string => v.replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const base64 = Buffer.from(value, 'utf8').toString('base64');
  for (const form of [value, percentEscaped(value), newlineEscaped(value), base64, percentEscaped(base64), newlineEscaped(base64)]) {
    masker.addValue(form);
    for (const quote of QUOTE_LIKE) {
      if (form.length > 1 && form.startsWith(quote) && form.endsWith(quote)) masker.addValue(trimChars(form, [quote]));
    }
    masker.addValue(trimChars(form, ['\r', '\n', ' ']));
  }
}

function trimChars(value: string, chars: readonly string[]): string {
  let start = 0;
  let end = value.length;
  while (start < end && chars.includes(value.charAt(start))) start++;
  while (end > start && chars.includes(value.charAt(end - 1))) end--;
  return value.substring(start, end);
}
