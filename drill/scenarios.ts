/** The named outages `npm run drill -- <name>` runs (README: game days). */
export type DrillName =
  'ingest-down' | 'store-down' | 'scheduler-down' | 'freeze' | 'fleet-dies' | 'power-cut';

export interface DrillPlan {
  name: DrillName;
  /** What the drill does to the service for 3 x TTL, if anything. */
  outage: 'ingest' | 'store' | 'scheduler' | 'freeze' | null;
  /** The share of the agents that really stop at the outage's start, for good. */
  dies: number;
  /**
   * What a healthy guard does:
   * - `guarded`: no agent that reports again is expired; the dead ones expire by the bound;
   * - `on-time`: the dead expire on time, none deferred, each marked massExpiry;
   * - `bounded`: every agent expires by the bound, marked suspectedPipelineOutage, summarized.
   */
  expect: 'guarded' | 'on-time' | 'bounded';
  summary: string;
}

export const DRILLS: Record<DrillName, DrillPlan> = {
  'ingest-down': {
    name: 'ingest-down',
    outage: 'ingest',
    dies: 0.1,
    expect: 'guarded',
    summary: 'the HTTP front answers 503 or nothing for 3 x TTL; a tenth of the agents dies as it starts',
  },
  'store-down': {
    name: 'store-down',
    outage: 'store',
    dies: 0.1,
    expect: 'guarded',
    summary:
      "the store's socket resets, then never answers, for 3 x TTL; a tenth of the agents dies as it starts",
  },
  'scheduler-down': {
    name: 'scheduler-down',
    outage: 'scheduler',
    dies: 0.1,
    expect: 'guarded',
    summary:
      "the scheduler's API fails for 3 x TTL (written schedules still fire); a tenth of the agents dies",
  },
  freeze: {
    name: 'freeze',
    outage: 'freeze',
    dies: 0.1,
    expect: 'guarded',
    summary:
      'the whole service stops for 3 x TTL, then resumes and its timers fire late all at once; a tenth dies',
  },
  'fleet-dies': {
    name: 'fleet-dies',
    outage: null,
    dies: 0.2,
    expect: 'on-time',
    summary: 'a fifth of the agents really stops while the service is healthy',
  },
  'power-cut': {
    name: 'power-cut',
    outage: null,
    dies: 1,
    expect: 'bounded',
    summary: 'every agent stops while the service is healthy',
  },
};

export function isDrillName(name: string): name is DrillName {
  return Object.hasOwn(DRILLS, name);
}
