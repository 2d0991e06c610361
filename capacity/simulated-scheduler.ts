import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';

/** What EventBridge Scheduler is asked for and does, counted. */
export interface SchedulerMeter {
  createSchedule: number;
  updateSchedule: number;
  deleteSchedule: number;
  /** Schedules that fired: billed invocations of the expiry function. */
  invocations: number;
}

export function emptySchedulerMeter(): SchedulerMeter {
  return { createSchedule: 0, updateSchedule: 0, deleteSchedule: 0, invocations: 0 };
}

/**
 * EventBridge Scheduler's API as the real adapter (EventBridgeExpiryScheduler) calls it, in
 * memory: named one-time `at()` schedules, Update of a missing one a ResourceNotFoundException,
 * Create of an existing one a ConflictException, each deleted when it fires. It fires through
 * `fire`, up to the scheduler's precision after its time (`delayMs`), so the counts are the real
 * adapter's calls, Update-then-Create steps included.
 */
export class SimulatedSchedulerApi {
  readonly meter = emptySchedulerMeter();
  readonly #schedules = new Map<string, { fireAt: number; input: string }>();

  constructor(
    private readonly deps: {
      /** Plans (or re-plans) the firing of `name` at `at`; undefined cancels it. */
      plan: (name: string, at: number | undefined) => void;
      /** The delay of one firing after its time, within the scheduler's precision. */
      delayMs: () => number;
    },
  ) {}

  /** Stands in for a SchedulerClient: only `send` of these three commands is used. */
  asClient(): SchedulerClient {
    return { send: (command: unknown) => this.#send(command) } as unknown as SchedulerClient;
  }

  get size(): number {
    return this.#schedules.size;
  }

  /** The schedule fires: it is deleted (ActionAfterCompletion DELETE) and its input returned. */
  fire(name: string): string | undefined {
    const schedule = this.#schedules.get(name);
    if (schedule === undefined) return undefined;
    this.#schedules.delete(name);
    this.meter.invocations++;
    return schedule.input;
  }

  async #send(command: unknown): Promise<object> {
    if (command instanceof UpdateScheduleCommand || command instanceof CreateScheduleCommand) {
      const { Name, ScheduleExpression, Target } = command.input;
      const name = Name ?? '';
      const exists = this.#schedules.has(name);
      if (command instanceof UpdateScheduleCommand) {
        this.meter.updateSchedule++;
        if (!exists)
          throw new ResourceNotFoundException({
            message: `Schedule ${name} does not exist.`,
            Message: `Schedule ${name} does not exist.`,
            $metadata: {},
          });
      } else {
        this.meter.createSchedule++;
        if (exists)
          throw new ConflictException({
            message: `Schedule ${name} already exists.`,
            Message: `Schedule ${name} already exists.`,
            $metadata: {},
          });
      }
      const fireAt = parseAt(ScheduleExpression ?? '');
      this.#schedules.set(name, { fireAt, input: Target?.Input ?? '{}' });
      this.deps.plan(name, fireAt + this.deps.delayMs());
      return {};
    }
    if (command instanceof DeleteScheduleCommand) {
      this.meter.deleteSchedule++;
      const name = command.input.Name ?? '';
      if (!this.#schedules.delete(name)) {
        throw new ResourceNotFoundException({
          message: `Schedule ${name} does not exist.`,
          Message: `Schedule ${name} does not exist.`,
          $metadata: {},
        });
      }
      this.deps.plan(name, undefined);
      return {};
    }
    throw new Error(`the simulated scheduler does not serve ${String(command)}`);
  }
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC to epoch ms. */
function parseAt(expression: string): number {
  const match = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (match?.[1] === undefined) throw new Error(`not an at() expression: ${expression}`);
  return Date.parse(`${match[1]}Z`);
}
