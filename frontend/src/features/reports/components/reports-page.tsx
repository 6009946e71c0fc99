import { useEffect, useState, type FormEvent } from 'react';
import { CardHeader, CountBadge } from '@/components/ui/card-header';
import { ErrorAlert } from '@/components/ui/error-alert';
import { OffsetPager } from '@/components/ui/offset-pager';
import { Spinner } from '@/components/ui/spinner';
import { useDownloadReport } from '../api/download-report';
import type { Report, ReportSchedule } from '../api/keys';
import { useReports } from '../api/list-reports';
import { useReportSchedule, useSaveReportSchedule } from '../api/schedule';

const PAGE = 20;
const WEEKDAYS: ReportSchedule['weekly_day'][] = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const KIND_LABEL: Record<Report['kind'], string> = { daily: 'Daily digest', weekly: 'Weekly report', screen: 'Screen report' };

/** The browser's IANA zones (the API checks the name too). */
function timeZones(current: string): string[] {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return Array.from(new Set(['UTC', current, ...all])).sort();
}

function kib(bytes: number | null): string {
  return bytes === null ? '' : `${Math.max(1, Math.round(bytes / 1024))} KiB`;
}

/** The caller's reports (download each PDF, or a screen report's CSV) and their schedule settings. */
export function ReportsPage({ open }: { open?: (url: string) => void }) {
  const [offset, setOffset] = useState(0);
  const list = useReports({ limit: PAGE, offset });
  const download = useDownloadReport(open);
  return (
    <div className="flex flex-col gap-4">
      <section className="card flex flex-col" aria-labelledby="reports-heading" data-testid="reports-page">
        <CardHeader id="reports-heading" level={1} title="Reports">
          {list.data && <CountBadge>{list.data.count}</CountBadge>}
          {list.isFetching && <Spinner />}
        </CardHeader>
        <div className="p-2">
          {list.isPending && (
            <p className="flex items-center gap-2 px-2 py-6 text-slate-400">
              <Spinner /> Loading…
            </p>
          )}
          {list.isError && <ErrorAlert title="Could not load your reports" error={list.error} onRetry={() => void list.refetch()} />}
          {download.isError && <ErrorAlert title="Could not get the download link" error={download.error} />}
          {list.data && list.data.data.length === 0 && (
            <p className="px-2 py-10 text-center text-slate-500">No reports yet. Schedule a daily digest or a weekly report below.</p>
          )}
          {list.data && list.data.data.length > 0 && (
            <table className="w-full text-sm" aria-label="Your reports">
              <thead>
                <tr className="text-left text-xs text-slate-400">
                  <th className="px-2 py-1 font-medium">Report</th>
                  <th className="px-2 py-1 font-medium">Kind</th>
                  <th className="px-2 py-1 font-medium">Status</th>
                  <th className="px-2 py-1 font-medium">Created</th>
                  <th className="px-2 py-1" />
                </tr>
              </thead>
              <tbody>
                {list.data.data.map((r) => (
                  <tr key={r.id} className="border-t border-slate-800" data-testid="report-row">
                    <td className="px-2 py-1.5 text-slate-100">{r.title}</td>
                    <td className="px-2 py-1.5 text-slate-300">{KIND_LABEL[r.kind]}</td>
                    <td className="px-2 py-1.5 text-slate-300">{r.status === 'sent' ? 'Emailed' : 'Stored'}</td>
                    <td className="px-2 py-1.5 text-slate-400">{new Date(r.created_at).toLocaleString()}</td>
                    <td className="flex justify-end gap-2 px-2 py-1.5">
                      <button
                        type="button"
                        className="btn-secondary h-7 px-2 text-xs"
                        disabled={download.isPending}
                        onClick={() => download.mutate({ id: r.id, format: 'pdf' })}
                        aria-label={`Download ${r.title} as PDF`}
                      >
                        PDF {kib(r.pdf_bytes)}
                      </button>
                      {r.has_csv && (
                        <button
                          type="button"
                          className="btn-secondary h-7 px-2 text-xs"
                          disabled={download.isPending}
                          onClick={() => download.mutate({ id: r.id, format: 'csv' })}
                          aria-label={`Download ${r.title} as CSV`}
                        >
                          CSV
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <OffsetPager offset={offset} pageSize={PAGE} count={list.data?.count ?? 0} onOffset={setOffset} previous="Newer" next="Older" />
      </section>
      <ScheduleCard />
    </div>
  );
}

function ScheduleCard() {
  const schedule = useReportSchedule();
  const save = useSaveReportSchedule();
  const [form, setForm] = useState<ReportSchedule | null>(null);
  useEffect(() => {
    if (schedule.data && form === null) {
      const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
      const neverSet = !schedule.data.daily_enabled && !schedule.data.weekly_enabled && schedule.data.time_zone === 'UTC';
      setForm({ ...schedule.data, time_zone: neverSet ? browserZone : schedule.data.time_zone });
    }
  }, [schedule.data, form]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (form) save.mutate(form);
  };
  return (
    <section className="card flex flex-col" aria-labelledby="schedule-heading">
      <CardHeader id="schedule-heading" level={2} title="Schedule" />
      {schedule.isError && <ErrorAlert title="Could not load your schedule" error={schedule.error} onRetry={() => void schedule.refetch()} />}
      {form && (
        <form className="grid gap-3 p-3 text-sm sm:grid-cols-2" onSubmit={submit} aria-label="Report schedule">
          <label className="flex items-center gap-2 text-slate-200">
            <input type="checkbox" className="h-4 w-4 accent-sky-500" checked={form.daily_enabled} onChange={(e) => setForm({ ...form, daily_enabled: e.target.checked })} />
            Daily digest (after each market session)
          </label>
          <label className="flex items-center gap-2 text-slate-200">
            <input type="checkbox" className="h-4 w-4 accent-sky-500" checked={form.weekly_enabled} onChange={(e) => setForm({ ...form, weekly_enabled: e.target.checked })} />
            Weekly portfolio report
          </label>
          <label className="flex flex-col gap-1 text-slate-300">
            Weekly report on
            <select className="input" value={form.weekly_day} onChange={(e) => setForm({ ...form, weekly_day: e.target.value as ReportSchedule['weekly_day'] })}>
              {WEEKDAYS.map((d) => (
                <option key={d} value={d}>
                  {d.charAt(0).toUpperCase() + d.slice(1)}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1 text-slate-300">
            Local time
            <input className="input" type="time" step={60} required value={form.send_time} onChange={(e) => setForm({ ...form, send_time: e.target.value })} />
          </label>
          <label className="flex flex-col gap-1 text-slate-300 sm:col-span-2">
            Time zone
            <select className="input" value={form.time_zone} onChange={(e) => setForm({ ...form, time_zone: e.target.value })}>
              {timeZones(form.time_zone).map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </label>
          {save.isError && (
            <div className="sm:col-span-2">
              <ErrorAlert title="Could not save the schedule" error={save.error} />
            </div>
          )}
          <div className="flex items-center gap-2 sm:col-span-2">
            <button type="submit" className="btn-primary h-8 px-3" disabled={save.isPending}>
              Save schedule
            </button>
            {save.isSuccess && <span className="text-xs text-emerald-400">Saved</span>}
          </div>
        </form>
      )}
    </section>
  );
}
