import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryRouter, RouterProvider, useParams } from 'react-router-dom';
import { CollectionLink, CollectionNav, CollectionPage } from './collection-page';

interface Thing {
  id: string;
  name: string;
  size: number;
}

const THINGS: Thing[] = [
  { id: 't1', name: 'First', size: 3 },
  { id: 't 2', name: 'Second', size: 1 },
];

function mutation<A extends unknown[]>(onMutate: (...args: A) => void = () => {}) {
  return { isPending: false, error: null as unknown, reset: vi.fn(), mutate: vi.fn(onMutate) };
}

type ListState = Parameters<typeof CollectionPage<Thing, Thing>>[0]['list'];

function listOf(things: Thing[] | undefined, overrides: Partial<ListState> = {}): ListState {
  return { data: things && { data: things }, isPending: !things, isFetching: false, isError: false, error: null, refetch: vi.fn(), ...overrides };
}

function setup(list: ListState, detailOverrides: { isError?: boolean; error?: unknown; refetch?: () => unknown } = {}) {
  const create = mutation((_name: string, opts: { onSuccess: (created: { id: string }) => void }) => opts.onSuccess({ id: 'new/one' }));
  const rename = mutation((_v: { id: string; name: string }, opts: { onSuccess: () => void }) => opts.onSuccess());
  const remove = mutation((_id: string, opts: { onSuccess: () => void }) => opts.onSuccess());
  const detailRefetch = vi.fn();

  function Things() {
    const { id } = useParams();
    const selected = list.data?.data.find((t) => t.id === id);
    return (
      <CollectionPage
        noun="thing"
        plural="things"
        list={list}
        selectedId={id}
        detail={{ data: selected, isError: false, error: null, refetch: detailRefetch, ...detailOverrides }}
        columns="lg:grid-cols-[15rem_minmax(0,1fr)]"
        emptyText="Make a thing to hold stuff."
        renderList={(things, onCreate) => (
          <CollectionNav noun="thing" plural="things" count={things.length} onCreate={onCreate} testId="thing-nav">
            <ul>
              {things.map((t) => (
                <li key={t.id}>
                  <CollectionLink plural="things" item={t} count={t.size} countLabel="items" />
                </li>
              ))}
            </ul>
          </CollectionNav>
        )}
        renderDetail={(thing, { onRename, onDelete }) => (
          <div data-testid="thing-detail">
            <h1>{thing.name}</h1>
            <button type="button" onClick={onRename}>
              Rename
            </button>
            <button type="button" onClick={onDelete}>
              Delete
            </button>
          </div>
        )}
        countOf={(t) => t.size}
        countLabel="items"
        create={create}
        rename={rename}
        remove={remove}
      />
    );
  }

  const router = createMemoryRouter(
    [
      { path: '/things', element: <Things /> },
      { path: '/things/:id', element: <Things /> },
    ],
    { initialEntries: ['/things'] },
  );
  render(<RouterProvider router={router} />);
  return { router, create, rename, remove, detailRefetch };
}

describe('CollectionPage', () => {
  it('says it is loading until the list arrives', () => {
    setup(listOf(undefined));
    expect(screen.getByText('Loading your things…')).toBeInTheDocument();
    expect(screen.queryByRole('navigation')).not.toBeInTheDocument();
  });

  it('shows the list error with a retry', async () => {
    const list = listOf(undefined, { isPending: false, isError: true, error: new Error('boom') });
    setup(list);
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('Could not load your things');
    expect(alert).toHaveTextContent('boom');
    await userEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(list.refetch).toHaveBeenCalledTimes(1);
  });

  it('opens the first item, labels the side list, and shows the selected one', async () => {
    const { router } = setup(listOf(THINGS));
    await waitFor(() => expect(router.state.location.pathname).toBe('/things/t1'));
    expect(screen.getByTestId('thing-detail')).toHaveTextContent('First');

    const nav = screen.getByRole('navigation', { name: 'Things' });
    expect(nav).toHaveAttribute('data-testid', 'thing-nav');
    expect(within(nav).getByText('2')).toBeInTheDocument();
    const first = within(nav).getByRole('link', { name: 'First 3 items' });
    expect(first).toHaveAttribute('href', '/things/t1');
    expect(first).toHaveClass('bg-sky-500/10');
    const second = within(nav).getByRole('link', { name: 'Second 1 items' });
    expect(second).toHaveAttribute('href', '/things/t%202');
    expect(second).not.toHaveClass('bg-sky-500/10');
  });

  it('shows the empty state, whose button opens the create dialog; creating navigates to the new item', async () => {
    const { router, create } = setup(listOf([]));
    const paths: string[] = [];
    router.subscribe((state) => paths.push(state.location.pathname));
    const empty = screen.getByTestId('no-things');
    expect(within(empty).getByRole('heading', { level: 1, name: 'No things yet' })).toBeInTheDocument();
    expect(empty).toHaveTextContent('Make a thing to hold stuff.');

    await userEvent.click(within(empty).getByRole('button', { name: 'Create a thing' }));
    expect(create.reset).toHaveBeenCalled();
    const dialog = await screen.findByRole('dialog', { name: 'New thing' });
    await userEvent.type(within(dialog).getByLabelText('Name'), 'Third');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create' }));
    expect(create.mutate).toHaveBeenCalledWith('Third', expect.anything());
    // The static list does not hold the new item, so the page then falls back to `/things`: record the way.
    await waitFor(() => expect(paths).toContain('/things/new%2Fone'));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('the side list’s button opens the create dialog too', async () => {
    setup(listOf(THINGS));
    await userEvent.click(screen.getByRole('button', { name: 'New thing' }));
    expect(await screen.findByRole('dialog', { name: 'New thing' })).toBeInTheDocument();
  });

  it('renames and deletes the selected item through the detail’s actions', async () => {
    const { rename, remove } = setup(listOf(THINGS));
    await screen.findByTestId('thing-detail');

    await userEvent.click(screen.getByRole('button', { name: 'Rename' }));
    const renaming = await screen.findByRole('dialog', { name: 'Rename thing' });
    const field = within(renaming).getByLabelText('Name');
    expect(field).toHaveValue('First');
    await userEvent.clear(field);
    await userEvent.type(field, 'Renamed');
    await userEvent.click(within(renaming).getByRole('button', { name: 'Rename' }));
    expect(rename.mutate).toHaveBeenCalledWith({ id: 't1', name: 'Renamed' }, expect.anything());
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());

    await userEvent.click(screen.getByRole('button', { name: 'Delete' }));
    const deleting = await screen.findByTestId('delete-thing-dialog');
    expect(deleting).toHaveTextContent('“First” and its 3 items will be deleted. This cannot be undone.');
    expect(remove.reset).toHaveBeenCalled();
  });

  it('shows the detail error with a retry', async () => {
    const { detailRefetch } = setup(listOf(THINGS), { isError: true, error: new Error('gone') });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load this thing');
    await userEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(detailRefetch).toHaveBeenCalledTimes(1);
  });
});
