import type { CursorPosition } from '../http/cursor';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Windows tried in turn, back from the page's newest possible row: a day, a week, then everything. */
export const DAY_WEEK_ALL: readonly (number | null)[] = [DAY_MS, 7 * DAY_MS, null];
/**
 * For queries whose matching rows are found through an index that does not follow time (full-text
 * search), where a window costs every match in it: an hour first, then six, a day, a week, so a
 * frequent word costs about an hour of matches, and the window that answers holds at most a few
 * times the matches it needs.
 */
export const HOUR_DAY_WEEK_ALL: readonly (number | null)[] = [HOUR_MS, 6 * HOUR_MS, DAY_MS, 7 * DAY_MS, null];

/**
 * The newest `limit` rows of a table partitioned by day, read through ever wider time windows.
 *
 * Without a lower time bound PostgreSQL plans a query over every daily partition — on a month of
 * partitions planning takes ten times longer than running the query. A window of one day back from the
 * page's start lets it prune all but a few partitions at planning time; on a busy installation that
 * window already holds a full page, and the answer is exact: every row outside it is older than every
 * row in it. When it holds fewer rows, the same query runs again over a week, then without bound.
 */
export async function newestFirst<T>(
  range: { since?: Date; until?: Date; after: CursorPosition | null },
  limit: number,
  run: (since: Date | undefined) => Promise<T[]>,
  now: number = Date.now(),
  spans: readonly (number | null)[] = DAY_WEEK_ALL,
): Promise<T[]> {
  const start = range.after ? Number(range.after.timeUs / 1000n) : (range.until?.getTime() ?? now);
  let rows: T[] = [];
  for (const span of spans) {
    const lower = span === null ? undefined : start - span;
    const bounded = lower === undefined || (range.since !== undefined && lower <= range.since.getTime());
    rows = await run(bounded ? range.since : new Date(lower));
    if (rows.length >= limit || bounded) return rows;
  }
  return rows;
}
