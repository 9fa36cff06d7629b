import { execFile } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../support/shared';
import { GPU_FLAGS, probeAdapter, refusalOf, type AdapterReport } from '../bench/gpuAdapter';
import { assertChromium, CHROMIUM } from './support/studio';

/** `npm run bench:gpu` exactly as a person runs it (its script, no npm in between), with its exit code and output. */
function runGpuBench(): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = path.join(projectRoot, 'node_modules', '.bin', 'tsx');
  return new Promise((resolve) => {
    execFile(tsx, ['tests/bench/gpuBench.ts'], { cwd: projectRoot, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('npm run bench:gpu on a software adapter', () => {
  it('refuses with exit code 2 and JSON naming the software adapter and what to do', async (ctx) => {
    assertChromium();
    // the adapter the benchmark's flags get here; on a machine with a real GPU there is nothing to refuse
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: GPU_FLAGS });
    let adapter: AdapterReport;
    try {
      adapter = await probeAdapter(await browser.newContext());
    } finally {
      await browser.close();
    }
    if (!refusalOf(adapter)) ctx.skip(`a hardware WebGPU adapter is here (${adapter.vendor} ${adapter.architecture}): bench:gpu runs instead of refusing`);

    const { code, stdout, stderr } = await runGpuBench();
    expect(code, stderr).toBe(2);
    const printed = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { refused: string; hint: string; adapter: AdapterReport };
    // what the benchmark's own browser saw (a busy machine's GPU process can give it no adapter at all)
    if (printed.adapter.found) {
      expect(printed.adapter.isFallbackAdapter || /swiftshader/i.test(`${printed.adapter.architecture}`)).toBe(true);
      expect(printed.refused).toMatch(/software WebGPU adapter/);
      expect(printed.refused).toContain(printed.adapter.architecture || printed.adapter.description || 'fallback');
    } else {
      expect(printed.refused).toMatch(/no WebGPU adapter/);
    }
    expect(printed.hint).toMatch(/NVIDIA GPU/);
    expect(printed.hint).toMatch(/Vulkan/);
    expect(printed.hint).toContain('--enable-unsafe-webgpu');
  });
});
