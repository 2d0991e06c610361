import type { Estimate, ServiceLine } from './model.js';
import type { Measurement } from './simulate.js';

// Plain-text and Markdown renderings of estimates, shared by the CLI and docs/capacity.md.

export const usd = (value: number) =>
  value >= 100 ? `$${Math.round(value).toLocaleString('en-US')}` : `$${value.toFixed(2)}`;

export function rate(value: number): string {
  if (value === 0) return '0';
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 1) return value.toFixed(1);
  return value.toPrecision(2);
}

export const headroom = (line: ServiceLine) =>
  line.headroom === undefined ? '' : line.headroom >= 1000 ? '>1000x' : `${line.headroom.toFixed(1)}x`;

/** The per-agent figures the run measured on its sample, the ones everything is scaled from. */
export function measuredFigures(m: Measurement): [string, string][] {
  const { counts, scheduler, dynamo, shape } = m;
  const per = (count: number) => count / counts.heartbeats;
  const agentHours = (shape.agents * m.seconds) / 3600;
  return [
    ['heartbeats per agent per hour', (counts.heartbeats / agentHours).toFixed(1)],
    [
      'schedule writes (Update + Create) per heartbeat',
      per(scheduler.updateSchedule + scheduler.createSchedule).toFixed(3),
    ],
    ['expiry invocations per heartbeat', per(counts.expiryInvocations).toFixed(4)],
    ['DynamoDB write units per heartbeat (all writes)', per(dynamo.writeUnits).toFixed(2)],
    [
      'DynamoDB write units per record write',
      (dynamo.recordWriteUnits / Math.max(1, dynamo.recordWrites)).toFixed(2),
    ],
    ['DynamoDB read units per heartbeat (scans included)', per(dynamo.readUnits).toFixed(2)],
    ['record size (bytes, as DynamoDB bills it)', Math.round(m.storedBytesPerAgent).toLocaleString('en-US')],
    ['events published per heartbeat', per(counts.events).toFixed(4)],
    ['expiries per agent per day', ((counts.expiries / agentHours) * 24).toFixed(3)],
  ];
}

export function markdownTable(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

export function serviceRows(estimate: Estimate): string[][] {
  return estimate.lines.map((line) => [
    line.service,
    line.what,
    line.meanPerSecond === 0 && line.peakPerSecond === 0 ? '' : rate(line.meanPerSecond),
    line.peakPerSecond === 0 ? '' : rate(line.peakPerSecond),
    line.quota === undefined ? '' : `${rate(line.quota.value)} (${line.quota.name})`,
    headroom(line),
    usd(line.monthlyUsd),
  ]);
}

export const SERVICE_HEADERS = [
  'service',
  'what',
  'mean /s',
  'peak /s',
  'default quota',
  'headroom',
  '$/month',
];

/** One sentence: the first quota to bind, what to ask for, or the tightest one. */
export function bindingSentence(estimate: Estimate): string {
  const first = estimate.binding[0];
  if (first !== undefined) {
    const others = estimate.binding
      .slice(1)
      .map((b) => `${b.line.service} ${b.line.what} (to ${rate(b.request)})`);
    return (
      `first quota to bind: ${first.line.service} ${first.line.what}, ${rate(first.line.quota?.value ?? 0)} by default ` +
      `against a peak of ${rate(first.line.peakPerSecond)}: request ${rate(first.request)}` +
      (others.length > 0 ? `; then ${others.join(', ')}` : '')
    );
  }
  const tightest = estimate.tightest?.line;
  return tightest === undefined
    ? 'no quota applies'
    : `no default quota binds; the tightest is ${tightest.service} ${tightest.what} (${headroom(tightest)} headroom)`;
}

/** Plain text for a terminal: aligned columns. */
export function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(headers), format(widths.map((w) => '-'.repeat(w))), ...rows.map(format)].join('\n');
}
