import { useEffect, useRef, useState } from 'react';
import type { Dataset, ImageRecord } from '../../core/data/dataset';
import { BrowserDatasetFile } from '../../workers/browserFile';

const PER_CLASS = 4;

/** A few thumbnails of one class, created only when the row scrolls into view, revoked after. */
function ClassRow(props: { name: string; images: ImageRecord[]; total: number; split: 'train' | 'validation' }) {
  const row = useRef<HTMLLIElement>(null);
  const [urls, setUrls] = useState<string[]>([]);

  useEffect(() => {
    const el = row.current;
    if (!el) return;
    let created: string[] = [];
    const observer = new IntersectionObserver((entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      observer.disconnect();
      created = props.images
        .map((r) => r.file)
        .filter((f): f is BrowserDatasetFile => f instanceof BrowserDatasetFile)
        .map((f) => URL.createObjectURL(f.file));
      setUrls(created);
    }, { rootMargin: '200px' });
    observer.observe(el);
    return () => {
      observer.disconnect();
      created.forEach((u) => URL.revokeObjectURL(u));
    };
  }, [props.images]);

  return (
    <li ref={row} className="class-row">
      <div className="class-row-name">
        <span className={`tag tag-${props.split}`}>{props.split === 'train' ? 'train' : 'val'}</span>
        {props.name} <span className="muted">({props.total})</span>
      </div>
      <div className="thumbs">
        {urls.map((u, i) => (
          <img key={u} src={u} alt={`${props.name} sample ${i + 1}`} loading="lazy" decoding="async" />
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
