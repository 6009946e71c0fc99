import { ColorType, type DeepPartial, type TimeChartOptions } from 'lightweight-charts';

/** The charts' dark theme (lightweight-charts options), shared by the stock and portfolio charts. */
export const CHART_THEME = {
  autoSize: true,
  layout: {
    background: { type: ColorType.Solid, color: 'transparent' },
    textColor: '#94a3b8',
    fontSize: 11,
    // The attribution logo injects a <style> tag (blocked by a strict CSP);
    // attribution is given in the page footer instead.
    attributionLogo: false,
    panes: { separatorColor: '#1e293b', separatorHoverColor: '#334155' },
  },
  grid: {
    vertLines: { color: 'rgba(51, 65, 85, 0.25)' },
    horzLines: { color: 'rgba(51, 65, 85, 0.25)' },
  },
  rightPriceScale: { borderColor: '#1e293b' },
} satisfies DeepPartial<TimeChartOptions>;
