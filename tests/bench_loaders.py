#!/usr/bin/env python
"""Benchmark (not a timed test, not collected by pytest): the kit against a hand-written PyTorch loop and fastai's
default folder pipeline, for the paper's MLP 1x512, small AlexNet and small Inception. A thin wrapper around
`rethink_fastai.bench.bench` (see nbs/11_bench.ipynb), the same as `rethink bench`:

    .venv/bin/python tests/bench_loaders.py [--data ../shared/data/cifar10.tgz] [--subset N] [--epochs 2] [--threads 1] --out DIR

Without --data it uses random tensors of CIFAR-10's shape and says so."""
import argparse, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT)) # run from a checkout without installing

def main(argv=None):
    from rethink_fastai.bench import bench, BENCH_MODELS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default=None, help="CIFAR-10 archive or folder (default: synthetic tensors of its shape)")
    p.add_argument('--subset', default=None, help="train on this many images (default: all); or per model: alexnet_small=10000,mlp1x512=20000")
    p.add_argument('--epochs', type=int, default=2, help="steady epochs per contender, after a first one reported apart")
    p.add_argument('--out', default='rethink_bench', help="folder for bench.json, bench.md, bench.png, logs and profiles")
    p.add_argument('--models', default=','.join(BENCH_MODELS), help="comma-separated `rethink_model` names")
    p.add_argument('--inception-subset', type=int, default=5000, help="training images for the Inceptions on a CPU (0: as the others)")
    p.add_argument('--precision', default='fp32', choices=('fp32', 'bf16', 'fp16'))
    p.add_argument('--device', default=None)
    p.add_argument('--threads', type=int, default=None, help="torch threads per contender (default: torch's); 1 on a busy machine")
    p.add_argument('--profile', default='auto', choices=('auto', 'yes', 'no'), help="cProfile one more kit and limit epoch")
    a = p.parse_args(argv)
    subset = a.subset
    if subset is not None:
        subset = {k: int(v) for k, v in (o.split('=') for o in subset.split(','))} if '=' in subset else int(subset)
    return bench(a.data, subset, a.epochs, a.out, a.models, a.inception_subset or None, a.precision, a.device,
                 threads=a.threads, profile={'auto': 'auto', 'yes': True, 'no': False}[a.profile])

if __name__=='__main__': main()
