import type { RunRecord } from '../../storage/runHistory';
import { bestRun, selectionScore } from '../training/runHistoryStore';

/**
 * Which run's head is used when the page opens: the one the person chose, while it exists,
 * else the best by its selection metric. `why` says which, in words.
 */
export function defaultHead(runs: readonly RunRecord[], chosenRunId: string | null): { run: RunRecord; why: string } | null {
  const chosen = chosenRunId ? runs.find((r) => r.id === chosenRunId) : undefined;
  if (chosen) return { run: chosen, why: 'chosen by you' };
  const best = bestRun(runs);
  if (!best) return null;
  const score = selectionScore(best)!;
  return {
    run: best,
    why:
      runs.length === 1
        ? `the only trained run`
        : `the best of ${runs.length} runs by the ${score.label} (${score.value.toFixed(4)}, lower is better)`,
  };
}
