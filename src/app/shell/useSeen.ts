import { useEffect, useState } from 'react';

/**
 * Whether the element has come within `rootMargin` of the viewport (and stays true once it
 * has): what is made only for the eye — thumbnails — waits until it can be seen. The ref is
 * a callback, so an element that appears later is observed too.
 */
export function useSeen<T extends Element>(rootMargin = '200px'): [(el: T | null) => void, boolean] {
  const [element, setElement] = useState<T | null>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    if (!element || seen) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        observer.disconnect();
        setSeen(true);
      },
      { rootMargin },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [element, seen, rootMargin]);
  return [setElement, seen];
}
