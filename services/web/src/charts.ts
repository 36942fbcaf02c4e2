import type { EChartsCoreOption, ECharts } from 'echarts/core';
import { h } from './dom.ts';

/** Okabe-Ito: distinguishable with every common colour-vision deficiency. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#F0E442',
  '#000000',
];
/** Sequential (cividis-like, blue to yellow): ordered by lightness, readable without hue. */
export const SEQUENTIAL = ['#00204D', '#31446B', '#666970', '#958F78', '#CBBA69', '#FFEA46'];
/** Diverging for scores (weak to strong) that stays colour-blind safe: vermillion, grey, blue. */
export const SCORE = ['#D55E00', '#E69F00', '#BBBBBB', '#56B4E9', '#0072B2'];

const live = new Set<ECharts>();
/** The engine (ECharts) is its own chunk, fetched with the first chart: views without charts never wait for it. */
let engine: Promise<typeof import('./chart-engine.ts')> | null = null;
let generation = 0;

/** A chart in a labelled container; `label` is its text alternative (the numbers are also in the page's text). */
export function chart(label: string, option: EChartsCoreOption, height = 260): HTMLElement {
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': label, style: `height:${height}px` });
  // Rendered once the container is in the document (it needs a size).
  let tries = 0;
  const born = generation;
  const render = async () => {
    if (!el.isConnected) {
      if (++tries < 20) requestAnimationFrame(() => void render());
      return;
    }
    const { echarts } = await (engine ??= import('./chart-engine.ts'));
    if (born !== generation || !el.isConnected) return; // the view was left meanwhile
    const c = echarts.init(el, undefined, { renderer: 'svg' });
    c.setOption({
      color: PALETTE,
      aria: { enabled: true, label: { description: label } },
      textStyle: { fontFamily: 'inherit', color: '#1a1a1a' },
      animation: false,
      ...option,
    });
    live.add(c);
  };
  queueMicrotask(() => void render());
  return el;
}

/** Disposes every chart (before a view is replaced). */
export function disposeCharts(): void {
  generation++;
  for (const c of live) c.dispose();
  live.clear();
}

let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const c of live) c.resize();
  }, 100);
});

/** Fetches the engine in the background (after the first view is on screen), so later views draw at once. */
export function preloadCharts(): void {
  engine ??= import('./chart-engine.ts');
}
