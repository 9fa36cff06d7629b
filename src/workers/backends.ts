/// <reference lib="webworker" />
/**
 * TF.js backends for the worker: WebGPU, WebGL, WASM and CPU, registered once. WASM's
 * binaries ship with the app (Vite `?url` imports) and run single-threaded: threads need
 * cross-origin isolation, hang with it in minified builds, and barely help on few cores.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { AdapterInfo, BackendName, BackendStatus } from './embedProtocol';
import { BACKEND_ORDER } from './embedProtocol';

let configured = false;

function configure(): void {
  if (configured) return;
  configured = true;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlainUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
  });
}

interface GpuAdapterLike {
  info?: Partial<AdapterInfo> & { isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  requestAdapterInfo?: () => Promise<Partial<AdapterInfo>>;
}

/** The WebGPU adapter the browser would give tfjs, or why there is none. */
export async function webgpuAdapter(): Promise<{ adapter?: AdapterInfo; reason?: string }> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return { reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { reason: `requestAdapter failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!adapter) return { reason: 'no WebGPU adapter (requestAdapter returned null)' };
  const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
  return {
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
      isFallbackAdapter: Boolean(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
    },
  };
}

/**
 * Makes `name` the active backend and waits until it is initialised (any op before
 * `tf.ready()` throws with WebGPU registered). Returns false when it cannot start here;
 * `tf.setBackend` returns false rather than throwing for a missing adapter.
 */
export async function activateBackend(name: BackendName): Promise<boolean> {
  configure();
  try {
    if (tf.getBackend() === name) return true;
    const ok = await tf.setBackend(name);
    if (!ok) return false;
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

let probed: Promise<BackendStatus[]> | null = null;

/** Which backends start here, in preference order; cached for the worker's life. */
export function probeBackends(): Promise<BackendStatus[]> {
  probed ??= (async () => {
    const previous = tf.getBackend();
    const out: BackendStatus[] = [];
    for (const name of BACKEND_ORDER) {
      if (name === 'webgpu') {
        const { adapter, reason } = await webgpuAdapter();
        if (!adapter) {
          out.push({ name, available: false, reason });
          continue;
        }
        const ok = await activateBackend(name);
        out.push(ok ? { name, available: true, adapter } : { name, available: false, adapter, reason: 'tfjs could not start WebGPU' });
        continue;
      }
      const ok = await activateBackend(name);
      out.push(ok ? { name, available: true } : { name, available: false, reason: `tfjs could not start ${name} here` });
    }
    if (previous && previous !== tf.getBackend()) await activateBackend(previous as BackendName);
    return out;
  })();
  return probed;
}
