import { useEffect } from 'react';
import { useNavigate } from 'react-router-dom';

/**
 * A list page with the selected item in the URL (`${base}/:id`): open the first item when none is
 * selected or the selected one is gone (deleted, another account's), and `base` when the list is empty.
 * `ids` is undefined until the list has loaded; `settled` is false while it is refetching.
 */
export function useSelectFirst(ids: string[] | undefined, settled: boolean, selectedId: string | undefined, base: string) {
  const navigate = useNavigate();
  const key = ids?.join(',');
  useEffect(() => {
    if (key === undefined || !settled) return;
    const all = key ? key.split(',') : [];
    const first = all[0];
    if (!first) {
      if (selectedId) navigate(base, { replace: true });
    } else if (!selectedId || !all.includes(selectedId)) {
      navigate(`${base}/${encodeURIComponent(first)}`, { replace: true });
    }
  }, [key, settled, selectedId, base, navigate]);
}
