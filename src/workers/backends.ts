/// <reference lib="webworker" />
/**
 * TF.js backends for the worker: WebGPU, WebGL, WASM and CPU, registered once. WASM's
 * binaries ship with the app (Vite `?url` imports). Its multi-threaded SIMD build needs
 * SharedArrayBuffer, i.e. a cross-origin isolated page (the COOP/COEP headers the dev and
 * preview servers send; see the README for hosting): then XNNPACK gets one thread per logical
 * core, otherwise WASM runs on one.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { AdapterInfo, BackendName, BackendStatus, WasmThreads } from './embedProtocol';
import { BACKEND_ORDER } from './embedProtocol';

let configured = false;

/** Threads wanted for WASM: one per logical core, at most the 8 workers tfjs's build starts. */
function wantedThreads(): number {
  return isolated() ? Math.min(8, Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1)) : 1;
}

function configure(): void {
  if (configured) return;
  configured = true;
  if (isolated()) setThreadsCount(wantedThreads());
  // tfjs would try the threaded build, which cannot start without SharedArrayBuffer
  else tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlainUrl,
    'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimdUrl,
  });
}

function isolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** How many threads the started WASM backend computes on, and why (undefined before it started). */
export function wasmThreads(): WasmThreads | undefined {
  let count: number;
  try {
    count = getThreadsCount();
  } catch {
    return undefined; // not initialised yet
  }
  if (!isolated()) {
    return { count, reason: 'the page is not cross-origin isolated (its server sends no COOP/COEP headers), so WASM cannot use threads' };
  }
  const wanted = wantedThreads();
  if (count === wanted) return { count, reason: `one per logical core; the page is cross-origin isolated` };
  return { count, reason: `tfjs started WASM with ${count} of the ${wanted} wanted (one per logical core)` };
}

/**
 * Starts tfjs's WASM backend with `wantedThreads()` threads. tfjs 4.22 caps its thread pool at
 * half of navigator.hardwareConcurrency (it assumes two logical cores per physical one), so on
 * a 2-core machine it would use one thread whatever setThreadsCount says; while the module
 * initialises, the worker's navigator reports twice the wanted count, then its own again.
 */
async function startWasm(): Promise<boolean> {
  const nav = globalThis.navigator as { hardwareConcurrency?: number } | undefined;
  const spoof = isolated() && nav !== undefined;
  if (spoof) Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * wantedThreads(), configurable: true });
  try {
    const ok = await tf.setBackend('wasm');
    if (ok) await tf.ready();
    return ok;
  } finally {
    if (spoof) delete (nav as Record<string, unknown>).hardwareConcurrency; // back to the prototype's getter
  }
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
    if (name === 'wasm') {
      if (!(await startWasm())) return false;
    } else {
      if (!(await tf.setBackend(name))) return false;
      await tf.ready();
    }
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
      const threads = ok && name === 'wasm' ? wasmThreads() : undefined;
      out.push(ok ? { name, available: true, ...(threads ? { threads } : {}) } : { name, available: false, reason: `tfjs could not start ${name} here` });
    }
    if (previous && previous !== tf.getBackend()) await activateBackend(previous as BackendName);
    return out;
  })();
  return probed;
}
