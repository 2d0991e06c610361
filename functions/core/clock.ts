/** The core never reads the clock itself; time is passed in so tests can move it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}
