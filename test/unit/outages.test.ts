import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { describeOutages } from '../support/outage-scenarios.js';

describeOutages('memory store', async () => new MemoryAgentStore(), 200);
