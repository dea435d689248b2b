// The switchover timeline: renders the state the extension posts, keeps it with setState so a
// hidden-and-shown panel redraws at once. Text nodes only (no innerHTML with data).
(function () {
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');
  const ICONS = { pending: '○', running: '◐', done: '✓', failed: '✗', skipped: '–' };
  const HEADLINE = {
    running: 'Switching over…',
    done: 'Switched over: the new container serves, the old one is stopped and kept.',
    failed: 'Failed.',
    'rolled-back': 'Failed and rolled back: the old container serves as before.',
    'rolling-back': 'Rolling back…',
    reverted: 'Rolled back: the previous container serves again.',
  };

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of [].concat(children || [])) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }
  const secs = (ms) => (ms / 1000).toFixed(1) + ' s';

  function render(state) {
    root.replaceChildren();
    root.append(el('h1', {}, state.title));
    root.append(el('p', { class: 'summary' }, state.summary));
    root.append(el('p', { class: 'status', 'data-status': state.status }, HEADLINE[state.status] || state.status));
    if (state.error) root.append(el('p', { class: 'error', role: 'alert' }, state.error));
    const list = el('ol', { class: 'steps' });
    for (const step of state.steps) {
      const took = step.startedAt && step.endedAt ? ' (' + secs(step.endedAt - step.startedAt) + ')' : '';
      const head = el('div', { class: 'head' }, [el('span', { class: 'icon', 'aria-hidden': 'true' }, ICONS[step.status] || '?'), el('span', { class: 'title' }, step.title), el('span', { class: 'state' }, step.status + took)]);
      const item = el('li', { class: 'step', 'data-step': step.step, 'data-status': step.status }, [head]);
      if (step.lines.length) {
        const details = el('details', step.status === 'failed' || step.status === 'running' ? { open: '' } : {}, [el('summary', {}, step.lines.length + ' log line' + (step.lines.length === 1 ? '' : 's')), el('pre', {}, step.lines.join('\n'))]);
        item.append(details);
      }
      list.append(item);
    }
    root.append(list);
    if (state.canRollBack) {
      const button = el('button', { type: 'button', id: 'rollback' }, 'Roll back');
      button.addEventListener('click', () => {
        button.disabled = true;
        vscode.postMessage({ type: 'rollback' });
      });
      root.append(button);
    }
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (message && message.type === 'state') {
      vscode.setState(message.state);
      render(message.state);
    }
  });
  const saved = vscode.getState();
  if (saved) render(saved);
  vscode.postMessage({ type: 'ready' });
})();
