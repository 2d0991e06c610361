import { makeExpiryHandler } from '../handlers/expiry.js';
import { composeCore, log } from './aws.js';

export const handler = makeExpiryHandler({ core: composeCore(process.env), log });
