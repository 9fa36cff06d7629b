import { BUILTIN_ENCODER } from '../../core/encoder/builtin';
import { ENCODER_CATALOG } from '../../core/encoder/catalog';
import type { ModelCard } from '../../core/encoder/modelCard';
import type { EncoderSource } from '../../workers/embedProtocol';
import type { PickedFolder } from '../dataset/folderFiles';

/** What the person picked in the Encoder panel. */
export type EncoderChoice =
  | { kind: 'catalog'; id: string }
  | { kind: 'url'; url: string }
  | { kind: 'files'; folder: PickedFolder };

/** What the Encoder step offers: the built-in encoder first (the default), then the catalog's downloads. */
export const STUDIO_ENCODERS: readonly ModelCard[] = [BUILTIN_ENCODER, ...ENCODER_CATALOG];

export const DEFAULT_ENCODER: EncoderChoice = { kind: 'catalog', id: BUILTIN_ENCODER.id };

export function catalogEntry(id: string): ModelCard | undefined {
  return STUDIO_ENCODERS.find((c) => c.id === id);
}

/** The worker's view of a choice; null when it is incomplete (empty URL). */
export function encoderSource(choice: EncoderChoice): EncoderSource | null {
  switch (choice.kind) {
    case 'catalog': {
      const card = catalogEntry(choice.id);
      return card?.url ? { kind: 'url', url: card.url, card } : null;
    }
    case 'url':
      return /^https?:\/\/|^\//.test(choice.url.trim()) ? { kind: 'url', url: choice.url.trim() } : null;
    case 'files':
      return { kind: 'files', files: choice.folder.files.map((f) => ({ path: f.path, file: f.file })) };
  }
}

export function describeChoice(choice: EncoderChoice): string {
  switch (choice.kind) {
    case 'catalog':
      return catalogEntry(choice.id)?.name ?? choice.id;
    case 'url':
      return choice.url;
    case 'files':
      return `dropped folder ${choice.folder.name || ''} (${choice.folder.files.length} files)`;
  }
}
