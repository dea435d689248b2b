// The dedup sync panel: renders the state the extension posts; keeps it with setState so a
// hidden-and-shown panel redraws at once. No innerHTML with data: text nodes only.
(function () {
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of [].concat(children || [])) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }
  function bytes(n) {
    if (n < 1024) return n + ' B';
    const units = ['KiB', 'MiB', 'GiB'];
    let v = n / 1024, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return v.toFixed(v < 10 ? 2 : 1) + ' ' + units[u];
  }
  const pct = (x) => (x * 100).toFixed(1) + '%';
  const secs = (ms) => (ms / 1000).toFixed(1) + ' s';

  function render(state) {
    root.replaceChildren();
    const f = state.figures;
    root.append(el('h1', {}, f ? `Sync ${f.image} → ${f.host}` : 'Sync'));
    if (f) {
      root.append(el('p', { class: 'phase', 'data-phase': f.phase }, state.done ? (f.upToDate ? 'The host already had this image.' : 'Done: image id verified on the host.') : `Phase: ${f.phase}`));
      const share = f.chunksTotal ? (f.chunksPresent + f.chunksSent) / f.chunksTotal : 0;
      root.append(el('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': String(Math.round(share * 100)), 'aria-valuemin': '0', 'aria-valuemax': '100' }, [el('div', {})]));
      root.querySelector('.bar > div').style.width = Math.round(share * 100) + '%';
      const rows = [
        ['Chunks total', f.chunksTotal, 'chunksTotal'],
        ['Already there', f.chunksPresent, 'chunksPresent'],
        ['Sent', f.repaired ? `${f.chunksSent} (${f.repaired} repaired)` : f.chunksSent, 'chunksSent'],
        ['Bytes on the wire', bytes(f.wireBytes), 'wireBytes'],
        ['docker save | gzip', `${bytes(f.saveGzipBytes)} (wire is ${pct(f.wireVsGzip)})`, 'saveGzipBytes'],
        ['Dedup ratio', pct(f.dedupRatio), 'dedupRatio'],
        ['Rate', bytes(f.bytesPerSecond) + '/s', 'rate'],
        ['Time', secs(f.elapsedMs), 'time'],
        ['Image id', (f.imageId || '').slice(7, 19) + (f.verified ? ' ✓ verified' : ''), 'imageId'],
      ];
      const dl = el('dl', { class: 'figures' });
      for (const [label, value, key] of rows) dl.append(el('dt', {}, label), el('dd', { 'data-figure': key }, value));
      root.append(dl);
    }
    if (state.error) root.append(el('p', { class: 'error', role: 'alert' }, state.error));
    root.append(el('h2', {}, f ? `History for ${f.host}` : 'History'));
    if (!state.history.length) root.append(el('p', { class: 'note' }, 'No earlier syncs to this host.'));
    else {
      const table = el('table', {}, [el('tr', {}, ['When', 'Image', 'Total', 'There', 'Sent', 'Wire', 'vs save|gzip', 'Time', 'Result'].map((h) => el('th', { scope: 'col' }, h)))]);
      for (const h of state.history.slice().reverse()) {
        table.append(el('tr', {}, [new Date(h.at).toLocaleString(), h.image, h.chunksTotal, h.chunksPresent, h.chunksSent, bytes(h.wireBytes), h.saveGzipBytes ? pct(h.wireBytes / h.saveGzipBytes) : '', secs(h.elapsedMs), h.ok ? 'ok' : (h.error || 'failed')].map((c) => el('td', {}, c))));
      }
      root.append(table);
    }
    root.append(el('p', { class: 'note' }, `Chunking: ${state.chunking}`));
  }

  window.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'state') {
      vscode.setState(event.data.state);
      render(event.data.state);
    }
  });
  const saved = vscode.getState();
  if (saved) render(saved);
  vscode.postMessage({ type: 'ready' });
})();
