// Readable names for the schemas generated from the API's OpenAPI document (src/types/openapi.ts, `make
// openapi`): the SPA's only copy of the HTTP contract. A feature's own schemas are named in its api/ files.
import type { components, operations } from './openapi';

type S = components['schemas'];

export type ApiErrorBody = S['ErrorBody'];

export type ScreenerField = S['FieldPublic'];
export type FieldsResponse = S['FieldsPublic'];
export type FieldGroup = ScreenerField['group'];
export type FieldType = ScreenerField['type'];

export type Preset = S['PresetPublic'];
export type PresetsResponse = S['PresetsPublic'];

/** A page of a screen's results; each row holds the requested columns (by field id). */
export type ScreenResponse = S['ScreenRunPublic'];
export type ScreenRow = ScreenResponse['data'][number];
export type SortOrder = S['SavedScreenIn']['order'];

export type ExplainResponse = S['ExplainResult'];
export type ExplainClause = S['ExplainClause'];

export type SecuritySummary = S['SecuritySummary'];
export type SecuritySearchResponse = S['SecuritiesPublic'];
export type SecurityDetail = S['SecurityPublic'];

export type Bar = S['Bar'];
export type BarsResponse = S['BarsPublic'];
export type BarInterval = NonNullable<NonNullable<operations['bars']['parameters']['query']>['interval']>;
