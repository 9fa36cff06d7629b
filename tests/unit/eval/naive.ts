/** Straightforward O(N^2 log N) references the fast code is checked against. */
export function naiveDistances(
  emb: Float32Array,
  dim: number,
  q: number,
  distance: 'cosine' | 'euclidean',
  query?: Float32Array,
): Float64Array {
  const n = emb.length / dim;
  const out = new Float64Array(n);
  const qv = query ?? emb.subarray(q * dim, (q + 1) * dim);
  for (let j = 0; j < n; j++) {
    let dot = 0;
    let nq = 0;
    let ng = 0;
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      const a = qv[d];
      const b = emb[j * dim + d];
      dot += a * b;
      nq += a * a;
      ng += b * b;
      sq += (a - b) * (a - b);
    }
    out[j] =
      distance === 'cosine'
        ? (1 - (nq > 0 && ng > 0 ? dot / Math.sqrt(nq * ng) : 0)) / 2
        : Math.sqrt(sq);
  }
  return out;
}

export function naiveMetrics(
  emb: Float32Array,
  dim: number,
  labels: Int32Array,
  distance: 'cosine' | 'euclidean',
  queries?: ArrayLike<number>,
) {
  const n = labels.length;
  const qs = queries ? Array.from(queries) : Array.from({ length: n }, (_, i) => i);
  let hitsSum = 0;
  let rSum = 0;
  let macro = 0;
  let p1 = 0;
  let map = 0;
  let count = 0;
  let skipped = 0;
  for (const q of qs) {
    const R = Array.from(labels).filter((l, j) => l === labels[q] && j !== q).length;
    if (R === 0) {
      skipped++;
      continue;
    }
    const d = naiveDistances(emb, dim, q, distance);
    const order = Array.from({ length: n }, (_, j) => j)
      .filter((j) => j !== q)
      .sort((a, b) => d[a] - d[b] || a - b)
      .slice(0, R);
    let hits = 0;
    let ap = 0;
    order.forEach((j, i) => {
      if (labels[j] === labels[q]) {
        hits++;
        ap += hits / (i + 1);
      }
    });
    hitsSum += hits;
    rSum += R;
    macro += hits / R;
    map += ap / R;
    p1 += labels[order[0]] === labels[q] ? 1 : 0;
    count++;
  }
  return {
    rPrecision: hitsSum / rSum,
    rPrecisionMacro: macro / count,
    precisionAt1: p1 / count,
    mapAtR: map / count,
    queryCount: count,
    skippedQueries: skipped,
  };
}

/** Deterministic pseudo-random data: clustered points with labels. */
export function clustered(n: number, dim: number, classes: number, seed: number, spread = 1.5) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const centres = Float32Array.from({ length: classes * dim }, gauss);
  const labels = new Int32Array(n);
  const emb = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * classes);
    labels[i] = c;
    for (let d = 0; d < dim; d++) emb[i * dim + d] = centres[c * dim + d] + spread * gauss();
  }
  return { emb, labels };
}
