import { problemKind, type DatasetProblem } from '../../core/data/dataset';
import { formatCount } from '../format';

const plural = (n: number, one: string, many: string) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** The report's one-line summary: what was left out, ignored, or noted (used, with a remark). */
export function problemSummary(problems: readonly DatasetProblem[], decodeFailures: number): string {
  let leftOut = 0;
  let ignored = 0;
  let notes = 0;
  for (const p of problems) {
    const kind = problemKind(p);
    if (kind === 'ignored') ignored += p.files ?? 1;
    else if (kind === 'note') notes += 1;
    else leftOut += 1;
  }
  const parts: string[] = [];
  if (leftOut) parts.push(`${plural(leftOut, 'file or folder', 'files or folders')} left out`);
  if (decodeFailures) parts.push(`${plural(decodeFailures, 'image', 'images')} could not be decoded`);
  if (ignored) parts.push(`${plural(ignored, 'system file', 'system files')} ignored`);
  if (notes) parts.push(plural(notes, 'note', 'notes'));
  return parts.join(' · ');
}
