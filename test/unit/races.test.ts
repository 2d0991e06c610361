import { MemoryAgentStore } from '../../functions/adapters/memory/agent-store.js';
import { describeRaces } from '../support/races.js';

describeRaces('memory store', async () => new MemoryAgentStore(), 300);
