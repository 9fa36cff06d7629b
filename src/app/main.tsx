// first: the long-task monitor observes the whole page
import './longTasks';
import { icuReady } from '../workers/icuWarmup';
import './app.css';

/**
 * The page starts in stages, each evaluated in a task of its own: the session store (its
 * restore starts reading IndexedDB at once), React DOM, then the studio, whose first render
 * is a transition (React renders it in slices). A first visit has no code cache: evaluated
 * as one bundle, this made one 110-230 ms task on a 2-core machine, React DOM most of it.
 */
async function start(): Promise<void> {
  // ICU's data loads in a worker meanwhile (see icuWarmupWorker.ts)
  void icuReady();
  const { session } = await import('./session/sessionStore');
  void session.restore();
  // a pending save is written before the page goes (reload, tab closed)
  window.addEventListener('pagehide', () => void session.flush());
  const [{ createRoot }, { StrictMode, createElement, startTransition }] = await Promise.all([import('react-dom/client'), import('react')]);
  const { App } = await import('./App');
  const root = document.getElementById('root');
  if (!root) throw new Error('index.html has no #root element');
  const reactRoot = createRoot(root);
  startTransition(() => reactRoot.render(createElement(StrictMode, null, createElement(App))));
}

void start();
