import { useEffect, useState } from 'react';
import type { Dataset, ImageRecord } from '../../core/data/dataset';
import { imageIdentity } from '../../core/data/datasetFile';
import { BrowserDatasetFile } from '../../workers/browserFile';
import { Thumb } from '../search/Thumb';
import { useSeen } from '../shell/useSeen';

const PER_CLASS = 4;

/**
 * A few thumbnails of one class, made only when the row scrolls into view: from the files
 * when the folder is connected, else from the thumbnails stored while embedding.
 */
function ClassRow(props: { name: string; images: ImageRecord[]; total: number; split: 'train' | 'validation' }) {
  const [row, visible] = useSeen<HTMLLIElement>();

  return (
    <li ref={row} className="class-row">
      <div className="class-row-name">
        <span className={`tag tag-${props.split}`}>{props.split === 'train' ? 'train' : 'val'}</span>
        {props.name} <span className="muted">({props.total})</span>
      </div>
      <div className="thumbs">
        {visible &&
          props.images.map((r, i) => (
            <Thumb
              key={r.file.path}
              file={r.file instanceof BrowserDatasetFile ? r.file.file : null}
              identity={imageIdentity(r.file)}
              alt={`${props.name} sample ${i + 1}`}
            />
          ))}
      </div>
    </li>
  );
}

/** Sample thumbnails per class, so the person sees the data. */
export function ClassGallery(props: { dataset: Dataset; trainClasses: Set<number> }) {
  const { dataset } = props;
  const [byClass, setByClass] = useState<{ samples: ImageRecord[][]; counts: number[] }>({ samples: [], counts: [] });
  useEffect(() => {
    const samples: ImageRecord[][] = dataset.classNames.map(() => []);
    const counts = new Array<number>(dataset.classNames.length).fill(0);
    for (const img of dataset.images) {
      counts[img.classId] += 1;
      const s = samples[img.classId];
      if (s && s.length < PER_CLASS) s.push(img);
    }
    setByClass({ samples, counts });
  }, [dataset]);

  return (
    <ul className="class-gallery" data-testid="class-gallery">
      {dataset.classNames.map((name, c) => (
        <ClassRow
          key={c}
          name={name}
          images={byClass.samples[c] ?? []}
          total={byClass.counts[c] ?? 0}
          split={props.trainClasses.has(c) ? 'train' : 'validation'}
        />
      ))}
    </ul>
  );
}
