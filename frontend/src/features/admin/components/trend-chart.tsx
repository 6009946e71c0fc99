import type { TrendPoint } from '../api/keys';

const COLORS = ['#38bdf8', '#f472b6', '#facc15', '#4ade80', '#fb923c', '#a78bfa', '#f87171', '#2dd4bf', '#e879f9', '#94a3b8'];

/** Findings per rule per day as stacked bars (one colour per rule), with a legend. */
export function TrendChart({ points }: { points: TrendPoint[] }) {
  if (points.length === 0) return <p className="px-3 py-6 text-center text-sm text-slate-500">No findings in this period.</p>;
  const days = [...new Set(points.map((p) => p.day))].sort();
  const rules = [...new Set(points.map((p) => p.rule))].sort();
  const color = (rule: string) => COLORS[rules.indexOf(rule) % COLORS.length];
  const totals = days.map((d) => points.filter((p) => p.day === d).reduce((a, p) => a + p.count, 0));
  const max = Math.max(...totals, 1);
  const width = 640;
  const height = 160;
  const slot = width / days.length;
  const bar = Math.max(4, Math.min(40, slot * 0.6));
  return (
    <div>
      <svg viewBox={`0 0 ${width} ${height + 18}`} role="img" aria-label={`Findings per rule over ${days.length} day(s)`} className="h-48 w-full">
        {days.map((day, i) => {
          let y = height;
          return (
            <g key={day}>
              {rules.map((rule) => {
                const n = points.find((p) => p.day === day && p.rule === rule)?.count ?? 0;
                if (!n) return null;
                const h = Math.max(1, (n / max) * (height - 10));
                y -= h;
                return (
                  <rect key={rule} x={i * slot + (slot - bar) / 2} y={y} width={bar} height={h} fill={color(rule)} data-rule={rule}>
                    <title>{`${day} ${rule}: ${n}`}</title>
                  </rect>
                );
              })}
              <text x={i * slot + slot / 2} y={height + 14} textAnchor="middle" className="fill-slate-500 text-[10px]">
                {day.slice(5)}
              </text>
            </g>
          );
        })}
      </svg>
      <ul className="mt-1 flex flex-wrap gap-x-3 gap-y-1 px-3 text-xs text-slate-400" aria-label="Rules">
        {rules.map((rule) => (
          <li key={rule} className="flex items-center gap-1">
            <span className="inline-block h-2.5 w-2.5 rounded-sm" style={{ background: color(rule) }} aria-hidden="true" />
            {rule}
          </li>
        ))}
      </ul>
    </div>
  );
}
