/** EventBridge `at()` has second resolution; rounding up keeps a schedule from firing before its deadline. */
export function ceilToSecond(epochMs: number): number {
  return Math.ceil(epochMs / 1000) * 1000;
}

export function toIso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
