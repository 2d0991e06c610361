import { readFileSync } from 'node:fs';
import { isValidAgentId } from '../functions/core/heartbeat.js';
import { agentToken } from '../functions/http/auth.js';

// `npm run agent-token -- <agentId>...`: prints the per-agent token(s) to provision (agentAuth =
// per-agent). The secret comes from AGENT_TOKEN_SECRET, or else from stdin, so it never sits in
// shell history; in AWS it is the "current" value of the stack's token secret:
//   aws secretsmanager get-secret-value --secret-id <TokenSecretArn> --query SecretString --output text \
//     | jq -r .current | npm run --silent agent-token -- web-1
const agentIds = process.argv.slice(2);
if (agentIds.length === 0 || agentIds.some((id) => !isValidAgentId(id))) {
  console.error('usage: npm run agent-token -- <agentId>... (secret in AGENT_TOKEN_SECRET or on stdin)');
  console.error('agent ids: 1-128 letters, digits, . _ : @ -, not "." or ".."');
  process.exit(2);
}
const secret = (process.env.AGENT_TOKEN_SECRET ?? readFileSync(0, 'utf8')).trim();
if (secret.length === 0) {
  console.error('no secret: set AGENT_TOKEN_SECRET or pipe it in');
  process.exit(2);
}
for (const agentId of agentIds) {
  const token = agentToken(secret, agentId);
  console.log(agentIds.length === 1 ? token : `${agentId}\t${token}`);
}
