import { useMutation } from '@tanstack/react-query';
import { api } from '@/lib/api-client';
import type { ReportDownload } from './keys';

/** A fresh presigned link (valid 7 days) to a report's PDF or, for a screen report, its CSV. */
export function getReportDownload(id: string, format: 'pdf' | 'csv'): Promise<ReportDownload> {
  return api.get<ReportDownload>(`/reports/${encodeURIComponent(id)}/download`, { format });
}

/** Fetches the link, then opens it (the browser downloads the file). */
export function useDownloadReport(open: (url: string) => void = (url) => window.location.assign(url)) {
  return useMutation({
    mutationFn: ({ id, format }: { id: string; format: 'pdf' | 'csv' }) => getReportDownload(id, format),
    onSuccess: (link) => open(link.url),
  });
}
