import { EmbedClient } from '../workers/embedClient';

/** The page's one embedding worker client; the worker itself starts on the first request. */
export const embedClient = new EmbedClient();
