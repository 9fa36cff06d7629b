/**
 * Our safetensors head, loaded into PyTorch: a module with quaterion-models'
 * SkipConnectionHead layout (`gates_0`, `fc_0` Linear; forward `fc(x) * sigmoid(g) + x`,
 * eval mode), built from our config.json, `load_state_dict(strict=True)` on the tensors of
 * our file, must give the studio's outputs on the same inputs.
 *
 * Needs a Python with torch: Debian's `apt-get install python3-torch` (about 50 MB of
 * Python plus libtorch; /usr/bin/python3), or set PYTHON to one that has it. Skipped
 * elsewhere. The file is parsed with the `safetensors` package when present, else with a
 * 20-line struct + json reader.
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportHead, HEAD_FILES } from '../../../src/core/export/headExport';
import { randomFunction } from '../../../src/core/random/randomSource';
import { createSkipConnectionHead } from '../../../src/core/train/heads';
import { embedWithHead } from '../../../src/core/train/trainer';

const HOW_TO =
  'PyTorch comparison skipped: no Python with torch found. Run it with `apt-get install python3-torch` ' +
  '(Debian; then /usr/bin/python3 has it) or PYTHON=/path/to/python-with-torch npm run test:unit -- torchLoad';

function findTorchPython(): string | null {
  const candidates = [process.env.PYTHON, '/usr/bin/python3', 'python3', 'python'].filter((c): c is string => Boolean(c));
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}

const PYTHON = findTorchPython();
if (!PYTHON) console.warn(`[torchLoad] ${HOW_TO}`);

const SCRIPT = String.raw`
import json, struct, sys
import numpy as np
import torch

folder = sys.argv[1]

def read_safetensors(p):
    try:
        from safetensors.torch import load_file
        from safetensors import safe_open
        with safe_open(p, framework="pt") as f:
            meta = f.metadata()
        return load_file(p), meta, "safetensors package"
    except ImportError:
        pass
    raw = open(p, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = raw[8 + n :]
    out = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", t["dtype"]
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype="<f4").reshape(t["shape"]).copy())
    return out, meta, "struct+json reader"

class SkipConnectionHead(torch.nn.Module):
    """quaterion-models' layout: gates_i Parameter [d], fc_i Linear(d, d)."""
    def __init__(self, input_embedding_size, dropout=0.0, skip_dropout=0.0, n_layers=1):
        super().__init__()
        self.input_embedding_size = input_embedding_size
        self.n_layers = n_layers
        self.dropout = torch.nn.Dropout(p=dropout)
        self.skip_dropout = torch.nn.Dropout(p=skip_dropout)
        for i in range(n_layers):
            setattr(self, f"gates_{i}", torch.nn.Parameter(torch.zeros(input_embedding_size)))
            setattr(self, f"fc_{i}", torch.nn.Linear(input_embedding_size, input_embedding_size))

    def forward(self, x):
        x = self.dropout(x)
        for i in range(self.n_layers):
            fc = getattr(self, f"fc_{i}")
            gates = getattr(self, f"gates_{i}")
            x = fc(self.skip_dropout(x)) * torch.sigmoid(gates) + x
        return x

tensors, meta, reader = read_safetensors(f"{folder}/model.safetensors")
config = json.load(open(f"{folder}/config.json"))
assert json.loads(meta["config"]) == config, (meta, config)
head = SkipConnectionHead(**config)
head.load_state_dict(tensors, strict=True)
head.eval()
d = config["input_embedding_size"]
x = torch.from_numpy(np.fromfile(f"{folder}/x.f32", dtype="<f4").reshape(-1, d))
with torch.no_grad():
    y = head(x)
y.numpy().astype("<f4").tofile(f"{folder}/y.f32")
print(json.dumps({"reader": reader, "shapes": {k: list(v.shape) for k, v in tensors.items()}, "format": meta.get("format")}))
`;

describe('the safetensors head in PyTorch', () => {
  let folder: string;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    folder = mkdtempSync(path.join(tmpdir(), 'torch-load-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it.skipIf(!PYTHON)("a reference-layout torch module loads it strictly and gives the studio's outputs", async () => {
    const dim = 256;
    const rand = randomFunction(9);
    const head = createSkipConnectionHead(dim, { seed: 5, dropout: 0.1 });
    const weights = head.getWeights();
    // gates far from their init, so the sigmoid and the skip both matter
    weights.gates_0.data = Float32Array.from(weights.gates_0.data, () => 4 * rand() - 2);
    head.setWeights(weights);
    const n = 7;
    const x = Float32Array.from({ length: n * dim }, () => 2 * rand() - 1);
    const ours = embedWithHead(head, x, dim);
    head.dispose();

    const ex = await exportHead(weights, { kind: 'skip-connection', dim, dropout: 0.1, encoderCard: { name: 'test' } });
    writeFileSync(path.join(folder, 'model.safetensors'), ex.files[HEAD_FILES.safetensors]);
    writeFileSync(path.join(folder, 'config.json'), ex.files[HEAD_FILES.config]);
    writeFileSync(path.join(folder, 'x.f32'), new Uint8Array(x.buffer));
    writeFileSync(path.join(folder, 'check.py'), SCRIPT);
    const out = JSON.parse(execFileSync(PYTHON!, [path.join(folder, 'check.py'), folder], { encoding: 'utf8', timeout: 120_000 }));
    expect(out.format).toBe('pt');
    expect(out.shapes).toEqual({ gates_0: [dim], 'fc_0.weight': [dim, dim], 'fc_0.bias': [dim] });
    const bytes = readFileSync(path.join(folder, 'y.f32'));
    const theirs = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(theirs.length).toBe(n * dim);
    let maxDiff = 0;
    for (let i = 0; i < theirs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(theirs[i] - ours[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    // and the head is not the identity: the comparison has teeth
    let moved = 0;
    for (let i = 0; i < x.length; i++) moved = Math.max(moved, Math.abs(ours[i] - x[i]));
    expect(moved).toBeGreaterThan(0.05);
    console.log(`[torchLoad] PyTorch (${out.reader}) matches the studio: max |diff| ${maxDiff.toExponential(2)} over ${n}x${dim}`);
  });

  it.skipIf(Boolean(PYTHON))(HOW_TO, () => {});
});
