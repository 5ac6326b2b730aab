/**
 * Aligned text tables for people. On a terminal a table fits its width: the widest shrinkable
 * columns are cut (with `…`) until the line fits, never below a readable minimum; `--wide` (no
 * width) prints every cell whole. Pipes and files always get whole cells.
 */

/** Columns are never cut below this many characters. */
export const MIN_COLUMN = 10;

/** `text` cut to `width` characters, the cut marked with `…`. */
export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * The table's lines. `maxWidth` is the terminal width (undefined: no limit); `shrink` lists the
 * columns that may be cut, in the order they give up room (the last column may always be cut).
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { readonly maxWidth?: number; readonly shrink?: readonly number[] } = {},
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const total = () => widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1);
  if (options.maxWidth !== undefined) {
    const shrink = [...(options.shrink ?? []), widths.length - 1];
    // Take a character at a time from the widest shrinkable column still above the minimum.
    while (total() > options.maxWidth) {
      const candidates = shrink.filter((i) => widths[i]! > Math.max(MIN_COLUMN, header[i]!.length));
      if (candidates.length === 0) break;
      const widest = candidates.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
      widths[widest]!--;
    }
  }
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => {
        const cell = options.maxWidth !== undefined ? truncate(c, widths[i]!) : c;
        return i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
      })
      .join('  ');
  return [line(header), ...rows.map(line)];
}
