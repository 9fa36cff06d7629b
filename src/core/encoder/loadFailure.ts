/**
 * What to tell a person whose encoder did not load: which URL, why (in their words), and
 * the way that needs no network: dropping a model folder.
 */

export const MODEL_FOLDER_HINT =
  'To use a model you have on disk, drop its folder (model.json and its weight files) on the page, or choose "Model folder…".';

/** The cause of a failed download, from the error tfjs or fetch raised. `online` is navigator.onLine. */
export function downloadCause(error: unknown, online?: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const status = /status code (\d{3})/.exec(message);
  if (status) return `the server answered HTTP ${status[1]}${status[1] === '404' ? ' (not found)' : ''}`;
  if (/Failed to parse model JSON|neither model topology/i.test(message)) {
    return 'what it serves is not a TF.js model (no model.json with a model topology and weights manifest)';
  }
  if (online === false) return 'this computer is offline';
  if ((error instanceof TypeError || (error as { name?: string })?.name === 'TypeError') && /fetch|network|load failed/i.test(message)) {
    return 'the request did not reach it (offline, the host unreachable, or the server refused a cross-origin request: CORS)';
  }
  return message;
}

/** The full message of a failed download of `url`. */
export function downloadFailure(url: string, error: unknown, online?: boolean): string {
  return `Could not load the encoder from ${url}: ${downloadCause(error, online)}. ${MODEL_FOLDER_HINT}`;
}
