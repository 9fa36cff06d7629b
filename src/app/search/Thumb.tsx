import { useEffect, useState } from 'react';
import { getThumbnail } from '../../storage/sessionDb';

/**
 * A picture of an image: its File when the folder is connected, else the small thumbnail
 * stored while it was embedded (by its identity). The object URL lives as long as the component.
 */
export function Thumb(props: { file: File | null; identity?: string; alt: string; className?: string }) {
  const { file, identity, alt, className } = props;
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    let made: string | null = null;
    const show = (blob: Blob | undefined) => {
      if (!live || !blob) return;
      made = URL.createObjectURL(blob);
      setUrl(made);
    };
    if (file) show(file);
    else if (identity) void getThumbnail(identity).then(show, () => undefined);
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [file, identity]);
  return url ? (
    <img src={url} alt={alt} className={className} loading="lazy" data-source={file ? 'file' : 'thumbnail'} />
  ) : (
    <span className={`thumb-missing ${className ?? ''}`}>{alt}</span>
  );
}
