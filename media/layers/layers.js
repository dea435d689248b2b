// @ts-check
// The Layer cache webview. Renders the state the extension sends; messages are typed by
// src/vscode/layers/protocol.ts (imported below through JSDoc), the one file both sides share.
/** @typedef {import('../../src/vscode/layers/protocol').ToWebview} ToWebview */
/** @typedef {import('../../src/vscode/layers/protocol').FromWebview} FromWebview */
/** @typedef {import('../../src/vscode/layers/protocol').LayersViewState} LayersViewState */
(function () {
  // @ts-ignore acquireVsCodeApi is provided by the webview host
  const vscode = acquireVsCodeApi();
  const root = /** @type {HTMLElement} */ (document.getElementById('root'));

  /** @param {FromWebview} message */
  const send = (message) => vscode.postMessage(message);

  /** @param {number} bytes */
  function size(bytes) {
    if (bytes === undefined || bytes === null) return '';
    if (bytes < 1024) return `${bytes} B`;
    const units = ['kB', 'MB', 'GB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
  }

  /** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node|string)[]} [children] */
  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    for (const child of children) node.append(child);
    return node;
  }

  const outcomeLabel = { hit: 'cached', miss: 'rebuilt', base: 'base', failed: 'failed', 'not-run': 'not run', unknown: '?' };

  /** @param {LayersViewState} state */
  function render(state) {
    vscode.setState(state);
    root.replaceChildren();
    const header = el('header', {}, [el('h1', {}, [state.title])]);
    const actions = el('div', { class: 'actions' });
    const refresh = el('button', { type: 'button', title: 'Analyse again' }, ['Refresh']);
    refresh.addEventListener('click', () => send({ type: 'refresh' }));
    actions.append(refresh);
    if (state.kind === 'dockerfile') {
      const build = el('button', { type: 'button', class: 'primary', title: 'Build with Wharf' }, ['Build']);
      build.addEventListener('click', () => send({ type: 'build' }));
      actions.prepend(build);
    }
    header.append(actions);
    root.append(header);
    if (state.loading) root.append(el('p', { class: 'muted', role: 'status' }, [state.progress || 'Loading…']));
    if (state.error) root.append(el('p', { class: 'error', role: 'alert' }, [state.error]));
    const report = state.report;
    if (!report) return;

    const summary = el('section', { class: 'summary', 'aria-label': 'Summary' });
    const card = (label, value, cls = '') => el('div', { class: `card ${cls}` }, [el('div', { class: 'label' }, [label]), el('div', { class: 'value' }, [value])]);
    if (report.build) summary.append(card('Last build', `${report.build.status}: ${report.build.hits} cached, ${report.build.misses} rebuilt`, report.build.status === 'failed' ? 'bad' : ''));
    if (report.waste) {
      summary.append(card('Wasted', `${size(report.waste.wastedBytes)} of ${size(report.waste.userBytes)}`, report.waste.wastedBytes > 0 ? 'warn' : ''));
      summary.append(card('Efficiency', `${(report.waste.efficiency * 100).toFixed(1)}%`, report.waste.efficiency < 0.9 ? 'warn' : 'good'));
    }
    if (report.totalSize !== undefined) summary.append(card('Image size', `${size(report.totalSize)} (base ${size(report.baseSize || 0)})`));
    if (report.prediction) summary.append(card('Next build', `${report.prediction.hits} cached, ${report.prediction.misses} rebuilt`, report.prediction.misses ? 'warn' : 'good'));
    root.append(summary);

    if (report.build && report.build.error) root.append(el('p', { class: 'error' }, [`Failed at line ${(report.build.error.line ?? -1) + 1}: ${report.build.error.message}`]));
    if (report.firstMiss) root.append(el('p', { class: 'miss' }, [el('strong', {}, [`First miss, line ${report.firstMiss.line + 1}: `]), report.firstMiss.cause.message]));
    if (report.prediction && report.prediction.firstMiss && report.prediction.firstMiss.cause) {
      root.append(el('p', { class: 'muted' }, [el('strong', {}, [`Next build rebuilds from line ${report.prediction.firstMiss.line + 1}: `]), report.prediction.firstMiss.cause.message]));
    }
    for (const problem of report.problems) root.append(el('p', { class: 'error' }, [`Line ${problem.line + 1}: ${problem.message}`]));

    const table = el('table', { class: 'layers', 'aria-label': 'Instructions and layers' });
    table.append(el('thead', {}, [el('tr', {}, ['Line', 'Instruction', 'Size', 'Last build', 'Time', 'Next build', 'Wasted'].map((h) => el('th', { scope: 'col' }, [h])))]));
    const body = el('tbody');
    const rows = /** @type {HTMLElement[]} */ ([]);
    for (const row of report.rows) {
      const text = (row.instruction || row.createdBy || '(imported layer)').replace(/^\/bin\/sh -c (#\(nop\)\s*)?/, '');
      const tr = el('tr', { tabindex: '0', class: row.kind === 'base' ? 'base' : '' }, [
        el('td', {}, [row.kind === 'base' ? 'base' : row.line !== undefined ? String(row.line + 1) : '']),
        el('td', { class: 'instruction', title: row.createdBy }, [text]),
        el('td', { class: 'num' }, [size(row.size)]),
        el('td', {}, [row.cache ? el('span', { class: `badge ${row.cache}` }, [outcomeLabel[row.cache] || row.cache]) : '']),
        el('td', { class: 'num' }, [row.durationMs !== undefined ? `${(row.durationMs / 1000).toFixed(1)}s` : '']),
        el('td', {}, [row.predicted ? el('span', { class: `badge ${row.predicted}` }, [outcomeLabel[row.predicted] || row.predicted]) : '']),
        el('td', { class: 'num' }, [row.wastedBytes ? size(row.wastedBytes) : '']),
      ]);
      if (row.cause) tr.setAttribute('title', row.cause.message);
      const line = row.line;
      if (line !== undefined && state.kind === 'dockerfile') {
        tr.addEventListener('click', () => send({ type: 'reveal', line }));
        tr.addEventListener('keydown', (event) => { if (event.key === 'Enter') send({ type: 'reveal', line }); });
      }
      tr.addEventListener('keydown', (event) => {
        const index = rows.indexOf(tr);
        if (event.key === 'ArrowDown' && rows[index + 1]) { rows[index + 1].focus(); event.preventDefault(); }
        if (event.key === 'ArrowUp' && rows[index - 1]) { rows[index - 1].focus(); event.preventDefault(); }
      });
      rows.push(tr);
      body.append(tr);
    }
    table.append(body);
    root.append(table);

    if (report.waste && report.waste.top.length) {
      const list = el('ul', { class: 'wasted' });
      for (const file of report.waste.top.slice(0, 10)) list.append(el('li', {}, [`/${file.path} — ${size(file.size)}, ${file.how} by a later layer`]));
      root.append(el('h2', {}, ['Wasted files']), list);
    }
    if (report.suggestions.length) {
      const list = el('ul', { class: 'suggestions' });
      for (const suggestion of report.suggestions) list.append(el('li', {}, [suggestion.message]));
      root.append(el('h2', {}, ['Suggestions']), list);
    }
    for (const note of report.notes) root.append(el('p', { class: 'muted' }, [note]));
  }

  window.addEventListener('message', (event) => {
    /** @type {ToWebview} */
    const message = event.data;
    if (message && message.type === 'state') render(message.state);
  });
  const saved = /** @type {LayersViewState | undefined} */ (vscode.getState());
  if (saved) render(saved);
  send({ type: 'ready' });
})();
