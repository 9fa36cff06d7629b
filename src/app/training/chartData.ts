/** Whether two charts' data (x, then one array per series) hold the same values: a re-render with equal data need not redraw. */
export function sameChartData(a: readonly ArrayLike<number | null | undefined>[] | null, b: readonly ArrayLike<number | null | undefined>[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let s = 0; s < a.length; s++) {
    const x = a[s];
    const y = b[s];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  }
  return true;
}
