import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../cdk/api.js';
import { buildOpenApiDocument } from '../../functions/http/openapi.js';
import { agentViewSchema, heartbeatResponseSchema } from '../../functions/http/schemas.js';
import { toAgentView } from '../../functions/http/agent-view.js';
import { makeAgentRecord } from '../support/records.js';

const committed = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
};

describe('the OpenAPI document', () => {
  it('docs/openapi.json is what the schemas generate (run `npm run openapi` after changing one)', () => {
    expect(committed).toEqual(buildOpenApiDocument());
  });

  it('describes every route API Gateway has (cdk/api.ts), and nothing else', () => {
    const documented = Object.keys(committed.paths).sort();
    const routed = Object.values(ROUTES)
      .filter((key) => key !== '$default')
      .map((key) => key.replace(/^[A-Z]+ /, ''));
    expect(documented).toEqual([...new Set(routed)].sort());
  });

  it("gives every operation its problem responses; the agents' token reports, operators read and operate", () => {
    for (const [path, operations] of Object.entries(committed.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const statuses = Object.keys(operation.responses);
        const success = method === 'post' && path === '/v1/maintenance' ? '201' : '200';
        for (const status of [success, '401', '403', '500', '503'])
          expect(statuses, `${method} ${path}`).toContain(status);
        expect(operation.security, `${method} ${path}`).toEqual(
          path === '/v1/heartbeats' ? [{ agentToken: [] }] : [{ operatorToken: [] }, { sigv4: [] }],
        );
      }
    }
  });

  it("matches what the handlers answer: an alive and an expired agent's views parse as documented", () => {
    const alive = makeAgentRecord();
    const expired = makeAgentRecord({
      state: 'expired',
      armedFor: null,
      expiredAt: alive.deadline,
      detectedAt: alive.deadline + 1_000,
      expiredBy: 'invocation-1',
      bootId: null,
      seq: null,
      transitions: [
        ...alive.transitions,
        { state: 'expired', at: alive.deadline + 1_000, by: 'invocation-1' },
      ],
    });
    for (const record of [alive, expired]) {
      const parsed = z.safeParse(agentViewSchema, toAgentView(record));
      expect(parsed.error?.issues ?? []).toEqual([]);
    }
    const view = toAgentView(alive);
    expect(
      z.safeParse(heartbeatResponseSchema, {
        agentId: 'web-1',
        state: 'alive',
        lastSeen: view.lastSeen,
        deadline: view.deadline,
        nextHeartbeatSeconds: 30,
      }).success,
    ).toBe(true);
  });
});
