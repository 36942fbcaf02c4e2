/** The ECharts engine, tree-shaken to the charts the dashboard uses; loaded on demand (its own chunk). */
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

export { echarts };
