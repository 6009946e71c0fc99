import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '@/lib/api-client';
import { adminKeys, type Upload, type UploadStatus } from './keys';

/** POST the file to the raw bucket's drop folder through the presigned form the API signed. */
export async function postToBucket(upload: Upload, file: File): Promise<void> {
  const form = new FormData();
  for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
  form.append('file', file); // last: S3 reads the fields before the file
  let response: Response;
  try {
    response = await fetch(upload.url, { method: 'POST', body: form });
  } catch (cause) {
    throw new ApiError({ status: 0, code: 'network_error', message: 'Could not reach the upload bucket.', details: String(cause) });
  }
  if (!response.ok) {
    const text = await response.text();
    const reason = /<Message>([^<]+)<\/Message>/.exec(text)?.[1];
    throw new ApiError({ status: response.status, code: 'upload_refused', message: `The bucket refused the file${reason ? `: ${reason}` : ` (HTTP ${response.status})`}.` });
  }
}

/** Ask for a presigned POST, then send the file: the new object in incoming/ starts an ingest run. */
export function useUpload() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (file: File) => {
      const upload = await api.post<Upload>('/admin/uploads', { filename: file.name, size: file.size });
      await postToBucket(upload, file);
      return upload;
    },
    onSuccess: () => client.invalidateQueries({ queryKey: [...adminKeys.all, 'runs'] }),
  });
}

const finished = (s: UploadStatus | undefined) => s?.run != null && s.run.status !== 'running';

/** The upload's run, polled until it has finished (null while the event has not started it yet). */
export function useUploadStatus(uploadId: string | null, intervalMs = 1000) {
  const client = useQueryClient();
  return useQuery({
    queryKey: adminKeys.upload(uploadId ?? ''),
    queryFn: async ({ signal }) => {
      const status = await api.get<UploadStatus>(`/admin/uploads/${uploadId}`, undefined, signal);
      if (finished(status)) void client.invalidateQueries({ queryKey: [...adminKeys.all, 'runs'] });
      if (finished(status)) void client.invalidateQueries({ queryKey: [...adminKeys.all, 'findings'] });
      return status;
    },
    enabled: uploadId !== null,
    refetchInterval: (q) => (finished(q.state.data) ? false : intervalMs),
  });
}
