"""Time one AdamW step over the embedded model's parameters (and a task head), each implementation torch has:
the loop over parameters (what fine-tuning used before), foreach, and the fused kernel; and how far their updates
are apart after N steps from the same start with the same gradients.

    python benchmarks/optimizer_bench.py [--steps 20] [--threads N]

Prints one JSON line per implementation. Run it alone on the machine.
"""
import argparse
import copy
import json
import time

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
args = ap.parse_args()

import torch  # noqa: E402

from closerlook.representations import DEFAULT_MODEL, Encoder  # noqa: E402

if args.threads:
    torch.set_num_threads(args.threads)
model = Encoder.load(DEFAULT_MODEL).model
params0 = [p.detach().clone() for p in model.parameters()] + [torch.zeros(50, 384), torch.zeros(50)]
gen = torch.Generator().manual_seed(0)
grads = [[torch.randn(p.shape, generator=gen) * 1e-3 for p in params0] for _ in range(3)]
n = sum(p.numel() for p in params0)
final = {}
for name, kwargs in (("loop", {"foreach": False}), ("foreach", {"foreach": True}), ("fused", {"fused": True})):
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.01, **kwargs)
    times = []
    for step in range(args.steps):
        for p, g in zip(params, grads[step % len(grads)]):
            p.grad = g
        t = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t)
    final[name] = [p.detach() for p in params]
    apart = max(float((a - b).abs().max()) for a, b in zip(final[name], final["loop"]))
    moved = max(float((a - b).abs().max()) for a, b in zip(final["loop"], params0))
    print(json.dumps({"implementation": name, "parameters": n, "threads": torch.get_num_threads(),
                      "ms_per_step": round(1000 * sorted(times[2:])[len(times[2:]) // 2], 2),
                      "max_abs_apart_from_loop": apart, "max_abs_update": moved, "steps": args.steps}), flush=True)
