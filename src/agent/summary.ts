/**
 * The short Markdown summary each task run attaches to the pipeline run (`##vso[task.uploadsummary]`):
 * who the identity is, where it came from, what was touched, until when the token is valid. Never the
 * token: every value here is already printed in the log.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AzureDevOpsToken } from '../identity/managed-identity';

export class Summary {
  private readonly rows: Array<[string, string]> = [];
  constructor(readonly title: string) {}

  add(label: string, value: string | undefined): void {
    if (value) this.rows.push([label, value]);
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
    const cell = (text: string): string => text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    return [`### ${cell(this.title)}`, '', '| | |', '| --- | --- |', ...this.rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`), ''].join('\n');
  }

  /** Writes the Markdown file under the agent's temp directory and returns its path. */
  write(tempDir: string): string {
    mkdirSync(tempDir, { recursive: true });
    const file = join(tempDir, `miado-summary-${randomUUID()}.md`);
    writeFileSync(file, this.toMarkdown());
    return file;
  }
}
