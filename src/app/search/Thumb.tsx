import { useEffect, useState } from 'react';

/** A thumbnail of an image File; its object URL lives as long as the component. */
export function Thumb(props: { file: File | null; alt: string; className?: string }) {
  const { file, alt, className } = props;
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file) return;
    const u = URL.createObjectURL(file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [file]);
  return url ? <img src={url} alt={alt} className={className} loading="lazy" /> : <span className={`thumb-missing ${className ?? ''}`}>{alt}</span>;
}
