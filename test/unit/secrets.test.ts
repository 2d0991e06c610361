import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cachedJsonSecret } from '../../functions/adapters/secrets.js';
import { tokenSecretSchema } from '../../functions/config.js';
import { BackendUnavailableError } from '../../functions/core/errors.js';
import { FakeClock } from '../support/fakes.js';

const client = new SecretsManagerClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const mock = mockClient(client);
const secret = (value: unknown) => ({ SecretString: JSON.stringify(value) });

function source(clock: FakeClock) {
  return cachedJsonSecret({
    client,
    secretId: 'tokens',
    schema: tokenSecretSchema,
    clock,
    maxAgeMs: 300_000,
  });
}

describe('cachedJsonSecret', () => {
  beforeEach(() => mock.reset());

  it('reads once, serves from memory, and re-reads after maxAge (a rotation needs no redeploy)', async () => {
    const clock = new FakeClock();
    mock
      .on(GetSecretValueCommand)
      .resolvesOnce(secret({ current: 'a' }))
      .resolves(secret({ current: 'b', previous: 'a' }));
    const read = source(clock);

    expect(await read()).toEqual({ current: 'a' });
    clock.advance(299);
    expect(await Promise.all([read(), read()])).toEqual([{ current: 'a' }, { current: 'a' }]);
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock.advance(2);
    expect(await read()).toEqual({ current: 'b', previous: 'a' });
  });

  it('keeps serving the last good value when a refresh fails, and waits before trying again', async () => {
    const clock = new FakeClock();
    mock
      .on(GetSecretValueCommand)
      .resolvesOnce(secret({ current: 'a' }))
      .rejects(new Error('throttled'));
    const read = source(clock);
    await read();
    clock.advance(301);
    expect(await read()).toEqual({ current: 'a' });
    expect(await read()).toEqual({ current: 'a' });
    expect(mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reports a first read that fails as an unavailable backend, and tries again next time', async () => {
    const clock = new FakeClock();
    mock
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('down'))
      .resolves(secret({ current: 'a' }));
    const read = source(clock);
    await expect(read()).rejects.toBeInstanceOf(BackendUnavailableError);
    expect(await read()).toEqual({ current: 'a' });
  });

  it('names the secret and the field when the secret has the wrong shape', async () => {
    mock.on(GetSecretValueCommand).resolves(secret({ token: 'a' }));
    await expect(source(new FakeClock())()).rejects.toThrow(/secret tokens .*current/);
  });
});
