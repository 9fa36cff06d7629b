import { describe, expect, it } from 'vitest';
import { downloadCause, downloadFailure, MODEL_FOLDER_HINT } from '../../../src/core/encoder/loadFailure';

const URL = 'https://example.test/m/model.json';

describe('encoder download failures', () => {
  it('names the URL, the cause and the model-folder route', () => {
    const m = downloadFailure(URL, new TypeError('Failed to fetch'), true);
    expect(m).toBe(
      `Could not load the encoder from ${URL}: the request did not reach it (offline, the host unreachable, or the server refused a cross-origin request: CORS). ${MODEL_FOLDER_HINT}`,
    );
  });

  it('tells offline, HTTP status and not-a-model apart', () => {
    expect(downloadCause(new TypeError('Failed to fetch'), false)).toBe('this computer is offline');
    expect(downloadCause(new Error(`Request to ${URL} failed with status code 404. Please verify…`), true)).toBe(
      'the server answered HTTP 404 (not found)',
    );
    expect(downloadCause(new Error(`Request to ${URL} failed with status code 503.`), false)).toBe('the server answered HTTP 503');
    expect(downloadCause(new Error(`Failed to parse model JSON of response from ${URL}.`))).toMatch(/^what it serves is not a TF\.js model/);
    expect(downloadCause(new Error('something else'))).toBe('something else');
  });
});
