/**
 * EventBridge `source` of every event the service publishes; rules match on it. A module of its
 * own so that publishing code gets it without the detail schemas (event-schemas.ts), which only
 * the schema documents and the tests need.
 */
export const EVENT_SOURCE = 'heartbeat-expiry';
