import { makeExpiryHandler } from '../handlers/expiry.js';
import { composeAws, log } from './aws.js';

const { core } = composeAws(process.env);

export const handler = makeExpiryHandler({ core, log });
