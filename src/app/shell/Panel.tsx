import type { ReactNode } from 'react';

/** One feature panel of the studio: a titled card with an optional status line. */
export function Panel(props: { id: string; title: string; status?: ReactNode; children: ReactNode }) {
  return (
    <section className="panel" aria-labelledby={`${props.id}-title`} data-testid={`${props.id}-panel`}>
      <header className="panel-header">
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        {props.status && <div className="panel-status">{props.status}</div>}
      </header>
      <div className="panel-body">{props.children}</div>
    </section>
  );
}

/** A label / value pair in a panel's summary grid. */
export function Stat(props: { label: string; value: ReactNode; testId?: string }) {
  return (
    <div className="stat">
      <dt>{props.label}</dt>
      <dd data-testid={props.testId}>{props.value}</dd>
    </div>
  );
}
