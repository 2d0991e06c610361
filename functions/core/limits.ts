/** Input limits: generous for real agents, small enough that one heartbeat can never hurt the service. */
export const LIMITS = {
  bodyBytes: 64 * 1024,
  agentIdChars: 128,
  bootIdChars: 128,
  checks: 50,
  checkNameChars: 128,
  checkOutputChars: 4096,
  labels: 32,
  labelKeyChars: 64,
  labelValueChars: 256,
  /** One week: a schedule further away than that is almost certainly a unit mistake. */
  maxTtlSeconds: 7 * 24 * 3600,
  /** A planned downtime an agent announces (maintenanceSeconds): a day at most. */
  maxMaintenanceSeconds: 24 * 3600,
} as const;
