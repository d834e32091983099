// Class scores to labels in plain JavaScript (no native addon), shared by the engine and onnxruntime paths.

/** Per-pixel argmax of a C×H×W probability map (ties go to the lower label). */
export function argmaxLabels(probs: Float32Array, numClasses: number, pixels: number): Uint8Array {
  if (numClasses > 256)
    throw new Error(`argmaxLabels: ${numClasses} classes do not fit a Uint8Array label map`);
  if (probs.length !== numClasses * pixels) {
    throw new Error(
      `argmaxLabels: probs has ${probs.length} values, expected numClasses×pixels = ${numClasses}×${pixels}`,
    );
  }
  const labels = new Uint8Array(pixels);
  const best = probs.slice(0, pixels);
  for (let c = 1; c < numClasses; c++) {
    const off = c * pixels;
    for (let i = 0; i < pixels; i++) {
      const v = probs[off + i]!;
      if (v > best[i]!) {
        best[i] = v;
        labels[i] = c;
      }
    }
  }
  return labels;
}

/** Softmax over the class axis of C×H×W scores, in place; returns the same array. */
export function softmaxClasses(scores: Float32Array, numClasses: number, pixels: number): Float32Array {
  if (scores.length !== numClasses * pixels)
    throw new Error(`softmaxClasses: ${scores.length} values, expected ${numClasses}×${pixels}`);
  for (let i = 0; i < pixels; i++) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, scores[c * pixels + i]!);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) {
      const e = Math.exp(scores[c * pixels + i]! - max);
      scores[c * pixels + i] = e;
      sum += e;
    }
    for (let c = 0; c < numClasses; c++) scores[c * pixels + i] /= sum;
  }
  return scores;
}
