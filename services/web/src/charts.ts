import * as echarts from 'echarts/core';
import {
  BarChart,
  GaugeChart,
  GraphChart,
  HeatmapChart,
  LineChart,
  ScatterChart,
  TreemapChart,
} from 'echarts/charts';
import {
  AriaComponent,
  CalendarComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { h } from './dom.ts';

echarts.use([
  BarChart,
  GaugeChart,
  GraphChart,
  HeatmapChart,
  LineChart,
  ScatterChart,
  TreemapChart,
  AriaComponent,
  CalendarComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
  SVGRenderer,
]);

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

const live = new Set<echarts.ECharts>();

/** A chart in a labelled container; `label` is its text alternative (the numbers are also in the page's text). */
export function chart(label: string, option: echarts.EChartsCoreOption, height = 260): HTMLElement {
  const el = h('div', { class: 'chart', role: 'img', 'aria-label': label, style: `height:${height}px` });
  // Rendered once the container is in the document (it needs a size).
  let tries = 0;
  const render = () => {
    if (!el.isConnected) {
      if (++tries < 20) requestAnimationFrame(render);
      return;
    }
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
  queueMicrotask(render);
  return el;
}

/** Disposes every chart (before a view is replaced). */
export function disposeCharts(): void {
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
