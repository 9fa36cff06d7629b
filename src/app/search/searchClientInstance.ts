import { SearchClient } from '../../workers/searchClient';

/** The page's one search worker (started on first use). */
export const searchClient = new SearchClient();
