"""The studio's head step on PyTorch CPU, for tests/bench/trainVsTorch.ts: the recipe's
SkipConnectionHead (dropout 0.1, gates -4), batch-hard triplet loss on the cosine distance
(1 - cos) / 2 with margin 0.5, Adam 3e-3; the same vectors and the same batch indices as the
tfjs run (read from the folder the TS side wrote); prints one JSON line of timings, with the
step's and the exact evaluation's matrix products timed apart (their GFLOPS)."""
import json, os, sys, time
import numpy as np
import torch

folder = sys.argv[1]
spec = json.load(open(f"{folder}/spec.json"))
dim, n_train, n_val = spec["dim"], spec["trainRows"], spec["validationRows"]
train = torch.from_numpy(np.fromfile(f"{folder}/train.f32", dtype=np.float32).reshape(n_train, dim))
val = torch.from_numpy(np.fromfile(f"{folder}/validation.f32", dtype=np.float32).reshape(n_val, dim))
train_labels = torch.from_numpy(np.fromfile(f"{folder}/train-labels.i32", dtype=np.int32).astype(np.int64))
val_labels = torch.from_numpy(np.fromfile(f"{folder}/validation-labels.i32", dtype=np.int32).astype(np.int64))
batches = [torch.tensor(b, dtype=torch.long) for b in spec["batches"]]
val_batches = [torch.tensor(b, dtype=torch.long) for b in spec["validationBatches"]]
torch.set_num_threads(spec.get("threads") or os.cpu_count())


class SkipConnectionHead(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.gates_0 = torch.nn.Parameter(torch.full((d,), -4.0))
        self.fc_0 = torch.nn.Linear(d, d)
        self.dropout = torch.nn.Dropout(0.1)

    def forward(self, x):
        x = self.dropout(x)
        return self.fc_0(x) * torch.sigmoid(self.gates_0) + x


def cosine_distance(x):
    x = torch.nn.functional.normalize(x, dim=1)
    return (1 - x @ x.T) / 2


def batch_hard(x, labels, margin=0.5):
    d = cosine_distance(x)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    hardest_positive = (d * (same & ~eye)).max(dim=1).values
    hardest_negative = (d + d.max() * same).min(dim=1).values
    return torch.relu(hardest_positive - hardest_negative + margin).mean()


def r_precision(x, labels):
    """Exact R-Precision (micro), every row a query, itself left out."""
    x = torch.nn.functional.normalize(x, dim=1)
    counts = torch.bincount(labels)
    hits, total = 0.0, 0.0
    for start in range(0, len(labels), 1024):
        q = slice(start, start + 1024)
        sim = x[q] @ x.T
        sim[torch.arange(sim.shape[0]), torch.arange(start, start + sim.shape[0])] = -float("inf")
        r = counts[labels[q]] - 1
        top = sim.topk(int(r.max()), dim=1).indices
        same = labels[top] == labels[q][:, None]
        mask = torch.arange(top.shape[1])[None, :] < r[:, None]
        hits += float((same & mask).sum())
        total += float(r.sum())
    return hits / total


head = SkipConnectionHead(dim)
optimizer = torch.optim.Adam(head.parameters(), lr=3e-3)
epochs = spec["epochs"]
step_times, epoch_times, val_times, eval_times = [], [], [], []
for epoch in range(epochs + 1):  # the first epoch warms up and is not counted
    started = time.perf_counter()
    head.train()
    for b in batches:
        t = time.perf_counter()
        optimizer.zero_grad()
        loss = batch_hard(head(train[b]), train_labels[b])
        loss.backward()
        optimizer.step()
        if epoch:
            step_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    head.eval()
    with torch.no_grad():
        out = head(val)
        val_loss = sum(float(batch_hard(out[b], val_labels[b])) for b in val_batches) / len(val_batches)
    if epoch:
        val_times.append(time.perf_counter() - t)
        epoch_times.append(time.perf_counter() - started)
    t = time.perf_counter()
    with torch.no_grad():
        rp = r_precision(out, val_labels)
    if epoch:
        eval_times.append(time.perf_counter() - t)

median = lambda xs: float(np.median(xs))


def time_gemm(m, k, n, reps=7):
    """Median seconds of one m x k by k x n product, new operands each time (as in a step)."""
    pairs = [(torch.randn(m, k), torch.randn(k, n)) for _ in range(reps + 1)]
    times = []
    for i, (a, b) in enumerate(pairs):
        t = time.perf_counter()
        a @ b
        if i:
            times.append(time.perf_counter() - t)
    return median(times)


# the step's products timed apart (the shapes the TS side lists), and the exact evaluation's
# similarity products as r_precision runs them (1,024-row blocks against the whole set)
gemms = []
for g in spec.get("gemms", []):
    seconds = time_gemm(g["m"], g["k"], g["n"])
    gemms.append({**g, "ms": round(seconds * 1000, 3), "gflops": round(2 * g["m"] * g["k"] * g["n"] / seconds / 1e9, 1)})
normalised = torch.nn.functional.normalize(out, dim=1)
eval_gemm_times = []
for _ in range(3):
    t = time.perf_counter()
    for start in range(0, n_val, 1024):
        normalised[start:start + 1024] @ normalised.T
    eval_gemm_times.append(time.perf_counter() - t)
# which BLAS torch's CPU matMuls went through: Debian's reference libblas is ~50x slower than OpenBLAS
blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line.lower() and line.split()[-1].startswith("/")})
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "blas": blas,
    "secondsPerStep": median(step_times),
    "secondsPerEpoch": median(epoch_times),
    "secondsPerValidationLoss": median(val_times),
    "secondsPerEvaluation": median(eval_times),
    "gemms": gemms,
    "gemmSecondsPerStep": sum(g["ms"] * g["count"] for g in gemms) / 1000,
    "evaluationGemmSeconds": median(eval_gemm_times),
    "evaluationGemmGflops": round(2 * n_val * n_val * dim / median(eval_gemm_times) / 1e9, 1),
    "lastValidationLoss": val_loss,
    "lastRPrecision": rp,
}))
