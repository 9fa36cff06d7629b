import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export type NodeBackend = 'wasm' | 'cpu';

/**
 * Selects the tfjs backend for the runner. tfjs-node would need a native TensorFlow download
 * that these machines cannot make, so WASM (SIMD) is the fast path in Node.
 */
export async function selectBackend(name: NodeBackend): Promise<string> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`The tfjs backend '${name}' could not start in Node (try --backend cpu).`);
  await tf.ready();
  return tf.getBackend();
}
