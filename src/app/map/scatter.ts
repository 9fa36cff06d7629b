/** The map's geometry: projected coordinates fitted to the canvas, and the points grouped by class for drawing. */

/** `coords` (x, y pairs) scaled into a width × height box with `pad` on each side, y pointing down. */
export function fitToBox(coords: Float32Array, width: number, height: number, pad: number): Float32Array {
  const n = coords.length / 2;
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, coords[2 * i]);
    maxX = Math.max(maxX, coords[2 * i]);
    minY = Math.min(minY, coords[2 * i + 1]);
    maxY = Math.max(maxY, coords[2 * i + 1]);
  }
  const sx = (width - 2 * pad) / (maxX - minX || 1);
  const sy = (height - 2 * pad) / (maxY - minY || 1);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = pad + (coords[2 * i] - minX) * sx;
    out[2 * i + 1] = height - pad - (coords[2 * i + 1] - minY) * sy;
  }
  return out;
}

/**
 * Point indices per class, classes in order of first appearance: a canvas then sets one
 * fill colour per class instead of one per point (thousands of colour parses per draw).
 */
export function pointsByClass(classIds: ArrayLike<number>): { classId: number; points: number[] }[] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < classIds.length; i++) {
    const g = groups.get(classIds[i]);
    if (g) g.push(i);
    else groups.set(classIds[i], [i]);
  }
  return [...groups].map(([classId, points]) => ({ classId, points }));
}

/** The class groups cut into slices of at most `perSlice` points (a group may span slices), to draw one slice per frame. */
export function drawSlices(groups: { classId: number; points: number[] }[], perSlice: number): { classId: number; points: number[] }[][] {
  const slices: { classId: number; points: number[] }[][] = [];
  let slice: { classId: number; points: number[] }[] = [];
  let room = perSlice;
  for (const { classId, points } of groups) {
    for (let at = 0; at < points.length; ) {
      const take = Math.min(room, points.length - at);
      slice.push({ classId, points: points.slice(at, at + take) });
      at += take;
      room -= take;
      if (room === 0) {
        slices.push(slice);
        slice = [];
        room = perSlice;
      }
    }
  }
  if (slice.length) slices.push(slice);
  return slices;
}
