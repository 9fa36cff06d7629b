import { useEffect, useState } from 'react';
import { readDrop, type PickedFolder, type ReadProgress } from './folderFiles';

/**
 * Accepts a folder dropped anywhere on the page. The drop's entries are taken inside the
 * event (they vanish after it); reading them continues asynchronously.
 */
export function useFolderDrop(onDrop: (folder: Promise<PickedFolder>) => void, onProgress?: ReadProgress): boolean {
  const [over, setOver] = useState(false);
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth += 1;
      setOver(true);
    };
    const overHandler = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setOver(false);
    };
    const drop = (e: DragEvent) => {
      if (!e.dataTransfer || !hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      setOver(false);
      onDrop(readDrop(e.dataTransfer, onProgress));
    };
    // A drop anywhere ends the drag, even one a drop target keeps to itself (stopPropagation
    // in the photo drop of Similar cars): seen in the capture phase, before any target.
    const ended = () => {
      depth = 0;
      setOver(false);
    };
    window.addEventListener('drop', ended, { capture: true });
    window.addEventListener('dragend', ended, { capture: true });
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragover', overHandler);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    // says the page takes a drop now (end-to-end tests drop only then, as a person would once the page shows)
    document.documentElement.dataset.folderDrop = 'ready';
    return () => {
      delete document.documentElement.dataset.folderDrop;
      window.removeEventListener('drop', ended, { capture: true });
      window.removeEventListener('dragend', ended, { capture: true });
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragover', overHandler);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, [onDrop, onProgress]);
  return over;
}
