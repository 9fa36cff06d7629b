/**
 * The real-GPU benchmark's first question: which WebGPU adapter does Chromium get with the
 * flags a Linux machine with an NVIDIA GPU needs (Vulkan), and is it one worth measuring?
 * A software adapter (SwiftShader) or none is refused before anything else starts.
 */
import type { BrowserContext, Page } from 'playwright-core';

/** Flags for a hardware WebGPU adapter in headless Chromium on Linux (Vulkan; no display needed). */
export const GPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan,WebGPUService',
  '--use-angle=vulkan',
  '--use-vulkan=native',
  '--disable-vulkan-surface',
  '--ignore-gpu-blocklist',
  '--disable-gpu-sandbox',
  '--disable-quic',
];

export interface AdapterReport {
  found: boolean;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  features?: string[];
  maxBufferSize?: number;
}

export interface Refusal {
  benchmark: string;
  refused: string;
  adapter: AdapterReport;
  hint: string;
}

/** The adapter a page of `context` gets (high-performance preference). */
export async function adapterOf(page: Page): Promise<AdapterReport> {
  return page.evaluate(async () => {
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(o: object): Promise<any> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
    if (!adapter) return { found: false };
    const info = adapter.info ?? {};
    return {
      found: true,
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: Boolean(adapter.isFallbackAdapter ?? info.isFallbackAdapter),
      features: Array.from(adapter.features as Set<string>),
      maxBufferSize: adapter.limits?.maxBufferSize,
    };
  });
}

/**
 * The adapter seen from a blank page at http://localhost (a secure context, which WebGPU
 * needs; served by the context itself, so no server has to start first).
 */
export async function probeAdapter(context: BrowserContext): Promise<AdapterReport> {
  const page = await context.newPage();
  try {
    const url = 'http://localhost/gpu-adapter-probe';
    await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>adapter</title>' }));
    await page.goto(url);
    return await adapterOf(page);
  } finally {
    await page.close();
  }
}

/** Why the benchmark refuses to run on `adapter`, or null when it is a hardware adapter. */
export function refusalOf(adapter: AdapterReport): Refusal | null {
  const software = !adapter.found || adapter.isFallbackAdapter || /swiftshader/i.test(`${adapter.architecture} ${adapter.description}`);
  if (!software) return null;
  return {
    benchmark: 'real-GPU WebGPU',
    refused: adapter.found
      ? `only a software WebGPU adapter is available (${adapter.architecture || adapter.description || 'fallback'}): its figures would say nothing about a GPU`
      : 'no WebGPU adapter: Chromium found no GPU through Vulkan',
    adapter,
    hint:
      'Run it on a Linux machine with an NVIDIA GPU, its driver and the Vulkan loader (libvulkan1) with the NVIDIA ICD (VK_DRIVER_FILES=/…/nvidia_icd.json); flags used: ' +
      GPU_FLAGS.join(' '),
  };
}
