/**
 * mulberry32: a small, fast, seeded PRNG, so a benchmark's data set (or a fuzz failure) is the same
 * on every run with the same seed.
 */
export function prngUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same stream as numbers in [0, 1). */
export function prng(seed: number): () => number {
  const next = prngUint32(seed);
  return () => next() / 4294967296;
}
