import type { Operations } from '../api/keys';

/** `2026-12-03T12:41:00Z` -> `12:41 UTC` (the API's minutes are UTC, as its messages say). */
export function utcClock(iso: string): string {
  const d = new Date(iso);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')} UTC`;
}

export interface HealthSummary {
  status: 'healthy' | 'degraded' | 'idle';
  /** One line: "Healthy", "Degraded since 12:41 UTC: 2 problems", "Healthy: no API requests in the last 60 min". */
  headline: string;
  /** What is wrong, each with since when (the API's message names it). */
  reasons: string[];
  /** The hour's SLO lines: "availability 99.95% (objective 99.9%): 0.7% of the 30-day budget spent". */
  slos: string[];
}

const pct = (v: number, digits = 2) => `${(v * 100).toFixed(digits).replace(/\.?0+$/, '')}%`;

/** The health summary at the top of the Operations page: healthy or degraded, why and since when. */
export function summarizeHealth(data: Operations): HealthSummary {
  const problems = data.health.problems;
  const slos = data.slos.map((s) =>
    s.sli === null
      ? `${s.name}: no requests (objective ${pct(s.objective, 3)})`
      : `${s.name} ${pct(s.sli, 3)} (objective ${pct(s.objective, 3)}): ${s.budget_burned_pct.toFixed(2)}% of the 30-day budget spent, burn rate ${s.burn_rate.toFixed(1)}x`,
  );
  if (data.health.status === 'degraded') {
    const starts = problems.map((p) => p.since).filter((s): s is string => !!s).sort();
    const since = starts.length ? ` since ${utcClock(starts[0]!)}` : '';
    return {
      status: 'degraded',
      headline: `Degraded${since}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      reasons: problems.map((p) => p.message),
      slos,
    };
  }
  if (data.totals.requests === 0) {
    return { status: 'idle', headline: `Healthy: no API requests in the last ${data.minutes} min`, reasons: [], slos };
  }
  return { status: 'healthy', headline: 'Healthy', reasons: [], slos };
}
