import type { components } from '@/types/openapi';

export type SavedScreen = components['schemas']['SavedScreenPublic'];
export type SavedScreens = components['schemas']['SavedScreensPublic'];
export type SharedScreen = components['schemas']['SharedScreenPublic'];
export type ScreenRun = components['schemas']['ScreenRunPublic'];

/** Query keys: a user's screens are keyed by the user, so another account never sees them from the cache. */
export const savedScreenKeys = {
  all: ['saved-screens'] as const,
  list: (userId: string) => [...savedScreenKeys.all, 'list', userId] as const,
  shared: (token: string) => ['shared-screen', token] as const,
  sharedRun: (token: string, offset: number) => ['shared-screen', token, 'run', offset] as const,
};

export const screenPath = (id: string) => `/screens/saved/${encodeURIComponent(id)}`;
