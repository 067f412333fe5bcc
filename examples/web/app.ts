/**
 * The browser demo page: runs the page-view demo in the browser and shows, step by step, the
 * app's view and the kernel's view of the same page side by side. All text goes in through
 * textContent (never innerHTML).
 */
import { hexdump, printableRatio } from './hexdump.js';
import { runPageDemo, SECRET_GVA, type DemoResult } from './demo.js';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function pane(label: string, view: 'app' | 'kernel', bytes: Uint8Array | null, base: number): HTMLElement {
  const box = el('div', { class: `pane ${view}` });
  const note = bytes === null ? 'the app is no longer running' : printableRatio(bytes) > 0.6 ? 'readable' : 'unreadable (ciphertext)';
  box.append(el('h4', {}, `${label} — ${note}`));
  box.append(el('pre', { 'data-view': view }, bytes === null ? '(terminated)' : hexdump(bytes, base)));
  return box;
}

/** Renders one demo run into `root`. */
export function render(root: HTMLElement, r: DemoResult): void {
  const sec = el('section', { class: 'run', 'data-run': r.cloaked ? 'cloaked' : 'plain' });
  sec.append(el('h2', {}, r.cloaked ? 'With Overshadow cloaking' : 'Without cloaking'));
  const meta = el('p', { class: 'meta' }, `guest-physical page ${r.gppn} · app ${r.appEnded} · ${r.traceEvents} trace events · digest ${r.traceDigest.slice(0, 16)}… · `);
  const url = URL.createObjectURL(new Blob([r.chromeTrace], { type: 'application/json' }));
  meta.append(el('a', { href: url, download: `terracloak-${r.cloaked ? 'cloaked' : 'plain'}.trace.json`, 'data-trace': r.cloaked ? 'cloaked' : 'plain' }, 'download the trace (opens in Perfetto)'));
  sec.append(meta);
  for (const s of r.steps) {
    const card = el('article', { class: 'step', 'data-step': s.id });
    const h = el('h3', {}, s.title + ' ');
    h.append(el('span', { class: `verdict ${s.verdict}` }, s.verdict));
    card.append(h, el('p', {}, s.explanation));
    const views = el('div', { class: 'views' });
    views.append(pane(`App's view (virtual 0x${SECRET_GVA.toString(16)})`, 'app', s.appView, SECRET_GVA), pane(`Kernel's view (guest-physical 0x${(r.gppn * 4096).toString(16)})`, 'kernel', s.kernelView, r.gppn * 4096));
    card.append(views);
    sec.append(card);
  }
  if (r.securityEvents.length) {
    const ul = el('ul', { class: 'security' });
    for (const e of r.securityEvents) ul.append(el('li', {}, `${e.kind} ${e.data ? JSON.stringify(e.data) : ''}`));
    sec.append(el('h3', {}, 'Security events'), ul);
  }
  root.append(sec);
}

/** Runs every available demo and renders it; reports errors on the page. */
export function main(): void {
  const root = document.getElementById('runs');
  const status = document.getElementById('status');
  if (!root || !status) throw new Error('page is missing #runs or #status');
  try {
    const t0 = performance.now();
    render(root, runPageDemo({ seed: 1, cloaked: false }));
    render(root, runPageDemo({ seed: 1, cloaked: true }));
    status.textContent = `done in ${Math.round(performance.now() - t0)} ms of wall time`;
    status.setAttribute('data-state', 'done');
  } catch (e) {
    status.textContent = `failed: ${e instanceof Error ? e.message : String(e)}`;
    status.setAttribute('data-state', 'failed');
    throw e;
  }
}

main();
