/**
 * The short Markdown summary each task run attaches to the pipeline run (`##vso[task.uploadsummary]`):
 * who the identity is, where it came from, what was touched, until when the token is valid. Never the
 * token: every value here is already printed in the log.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AzureDevOpsToken } from '../identity/managed-identity';

/**
 * One table cell of literal text. Values come from servers and repositories too (error messages, display names),
 * so nothing in them may render as Markdown: line breaks become spaces; `&`, `<` and `>` become entities (no HTML,
 * no autolink in angle brackets, no entity of their own); and the characters that open inline syntax are
 * backslash-escaped, which CommonMark allows for any ASCII punctuation (spec 0.31.2, section 2.4): `[` and `]`
 * (links, images, reference links), `|` (a cell of its own), `*`, `_`, `~` (emphasis, strikethrough), `` ` ``
 * (code spans) and `\` itself. A bare URL stays a bare URL: a renderer that links it shows where it goes.
 */
export function markdownCell(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/[\\`*_~[\]|]/g, (c) => `\\${c}`);
}

export class Summary {
  /** Label and the value's Markdown, already made safe. */
  private readonly rows: Array<[string, string]> = [];
  constructor(readonly title: string) {}

  /** A row of literal text (see markdownCell). */
  add(label: string, value: string | undefined): void {
    if (value) this.rows.push([label, markdownCell(value)]);
  }

  /**
   * A row holding one link of ours: literal text, and a URL of the extension itself (an https address with no
   * character that could end the link or the cell). Text from elsewhere never becomes a link: use `add`.
   */
  addLink(label: string, text: string, url: string): void {
    if (!/^https:\/\/[^\s()<>[\]|\\`]+$/.test(url)) throw new Error(`not a link the summary may show: ${url}`);
    this.rows.push([label, `[${markdownCell(text)}](${url})`]);
  }

  /** The identity rows every task shows once it has a token. */
  addToken(token: AzureDevOpsToken, displayName?: string): void {
    this.add('Identity', displayName);
    this.add('Object id', token.claims.oid);
    this.add('Client id', token.claims.appid ?? token.claims.azp);
    this.add('Tenant', token.claims.tid);
    this.add('Identity source', `${token.source.name} (${token.source.reason})`);
    this.add('Token valid until', token.expiresOn.toISOString());
  }

  get isEmpty(): boolean {
    return this.rows.length === 0;
  }

  toMarkdown(): string {
    return [`### ${markdownCell(this.title)}`, '', '| | |', '| --- | --- |', ...this.rows.map(([k, v]) => `| ${markdownCell(k)} | ${v} |`), ''].join('\n');
  }

  /** Writes the Markdown file under the agent's temp directory and returns its path. */
  write(tempDir: string): string {
    mkdirSync(tempDir, { recursive: true });
    const file = join(tempDir, `miado-summary-${randomUUID()}.md`);
    writeFileSync(file, this.toMarkdown());
    return file;
  }
}
