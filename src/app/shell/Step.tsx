import type { ReactNode } from 'react';

/** Where a step of the guided flow stands. */
export type StepState = 'done' | 'ready' | 'running' | 'waiting' | 'failed';

const STATE_WORDS: Record<StepState, string> = {
  done: 'done',
  ready: 'ready',
  running: 'working…',
  waiting: 'waiting',
  failed: 'needs attention',
};

/**
 * One numbered step of the guided flow (Data, Encoder, Embed, Train, Use): its state in a
 * word and a line, the one next action, and the step's panels below.
 */
export function Step(props: {
  n: number;
  id: string;
  title: string;
  state: StepState;
  /** What the state means here: "1,619 images · 40 classes", "waiting for the dataset". */
  line: ReactNode;
  /** The one prominent next action of the step, if it has one now. */
  action?: ReactNode;
  children: ReactNode;
}) {
  return (
    <section className={`step step-${props.state}`} data-testid={`step-${props.id}`} data-state={props.state} aria-labelledby={`step-${props.id}-title`}>
      <header className="step-header">
        <span className="step-number" aria-hidden="true">
          {props.state === 'done' ? '✓' : props.n}
        </span>
        <div className="step-heading">
          <h2 id={`step-${props.id}-title`}>
            {props.n}. {props.title} <span className="step-state">{STATE_WORDS[props.state]}</span>
          </h2>
          <p className="step-line" data-testid={`step-${props.id}-line`}>
            {props.line}
          </p>
        </div>
        {props.action && <div className="step-action">{props.action}</div>}
      </header>
      <div className="step-body">{props.children}</div>
    </section>
  );
}
