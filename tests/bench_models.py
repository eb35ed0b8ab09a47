#!/usr/bin/env python
"""Training throughput of the paper's models (Zhang et al. 2017) on CIFAR-10 shapes: not collected by pytest.

    .venv/bin/python tests/bench_models.py                 # batch 128, 3x28x28, fp32, CPU
    .venv/bin/python tests/bench_models.py --threads 1 --archs mlp1x512,alexnet_small

Forward + backward images/s for each model, in NCHW and, for the convnets, in channels_last (best of --rounds)."""
import argparse, os, platform, sys
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT)) # run from a checkout without installing

def main(argv=None):
    from rethink_fastai.models import PAPER_ARCHS
    from rethink_fastai.bench import bench_models
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--archs', default=','.join(PAPER_ARCHS), help="comma-separated architectures (any `rethink_model` name)")
    p.add_argument('--shape', default='3,28,28', help="C,H,W of one image")
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--min-time', type=float, default=2., help="seconds timed per model, memory format and round")
    p.add_argument('--rounds', type=int, default=3, help="rounds, the formats taking turns; each keeps its best")
    p.add_argument('--threads', type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument('--device', default='cpu')
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    shape = tuple(int(o) for o in a.shape.split(','))
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{torch.get_num_threads()} threads, device {a.device}; batch {a.bs}, {'x'.join(map(str, shape))}, fp32, "
          f"forward+backward; load average {os.getloadavg()[0]:.1f}", flush=True)
    df = bench_models(a.archs.split(","), shape, a.bs, a.min_time, a.rounds, a.device)
    print(df.to_string(index=False))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")

if __name__=='__main__': main()
