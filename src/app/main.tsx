// first: the long-task monitor observes the whole page
import './longTasks';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { session } from './session/sessionStore';
import './app.css';

void session.restore();
// a pending save is written before the page goes (reload, tab closed)
window.addEventListener('pagehide', () => void session.flush());

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
