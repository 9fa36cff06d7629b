import type { Head } from '../core/train/heads';
import type { ModelCard } from '../core/encoder/modelCard';
export async function writeHeadExport(_folder: string, _head: Head, _info: { dropout: number; card: ModelCard }): Promise<void> {}
