import { useState, type ReactNode } from 'react';

/**
 * A <details> whose content is built only once it is first opened (then kept): a closed
 * section of hundreds of rows costs the page nothing.
 */
export function Folded(props: { className?: string; summary: ReactNode; children: () => ReactNode }) {
  const [opened, setOpened] = useState(false);
  return (
    <details className={props.className} onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary>{props.summary}</summary>
      {opened && props.children()}
    </details>
  );
}
