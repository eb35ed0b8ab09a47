#!/usr/bin/env python
"""Minimum-norm Gaussian-kernel interpolation at full scale (Zhang et al. 2017, Section 5): not collected by pytest.

    .venv/bin/python tests/bench_kernel.py --dataset mnist --n 60000 --storage /tmp > /tmp/kernel60k.log 2>&1
    .venv/bin/python tests/bench_kernel.py --dataset cifar10 --n 10000 --features random_conv --l2 0.1

Progress goes to stderr with timestamps; the last line of stdout is the JSON of `rethink_fastai.theory.kernel_report`."""
import argparse, json, sys, time
from pathlib import Path
import torch

_shared = next((p/'shared'/'data' for p in Path(__file__).resolve().parents if (p/'shared'/'data').is_dir()), Path('shared/data'))  # the nearest shared copy, from a worktree too
_default_data = dict(mnist=_shared/'mnist', cifar10=_shared/'cifar10.tgz')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--dataset', default='mnist', help="digits, mnist, cifar10 or a path")
    p.add_argument('--data', default=None, help="folder or archive with the data (default: the shared copy, when present)")
    p.add_argument('--n', type=int, default=None, help="training images (default: all)")
    p.add_argument('--gamma', type=float, default=None, help="kernel width (default: 0.02 * 784 / d)")
    p.add_argument('--labels', default='true', choices=('true', 'random'))
    p.add_argument('--features', default='pixels', choices=('pixels', 'gabor', 'random_conv'), help="what the kernel sees (see FEATURES)")
    p.add_argument('--l2', type=float, default=0., help="ridge: solve (K + l2 I) alpha = y (0: interpolate exactly)")
    p.add_argument('--solver', default='auto', choices=('auto', 'dense', 'tiled'))
    p.add_argument('--tile', type=int, default=2048)
    p.add_argument('--tol', type=float, default=1e-6)
    p.add_argument('--refine', type=int, default=1)
    p.add_argument('--shifts', default='0,1e-4,1e-3,1e-2,1e-1', help="comma-separated diagonal shifts tried in turn")
    p.add_argument('--dtype', default='float32', choices=('float32', 'float64'), help="storage precision of the tiled kernel (float64: 8 n^2 bytes, for kernels too ill-conditioned for float32)")
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--storage', default=None, help="folder for a file-backed kernel (survives memory pressure; see TiledKernel)")
    p.add_argument('--save', default=None, help="save alpha, the subset and the result here (torch.save)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    from rethink_fastai.theory import kernel_report
    data = a.data
    if data is None and a.dataset in _default_data and _default_data[a.dataset].exists(): data = str(_default_data[a.dataset])
    t0 = time.time()
    log = lambda msg: print(f"[{time.time()-t0:7.1f} s] {msg}", file=sys.stderr, flush=True)
    res = kernel_report(a.dataset, data, n=a.n, gamma=a.gamma, labels=a.labels, features=a.features, l2=a.l2, seed=a.seed, solver=a.solver, log=log,
                        save=a.save, storage=a.storage, tile=a.tile, tol=a.tol, refine=a.refine, dtype=getattr(torch, a.dtype), shifts=tuple(float(s) for s in a.shifts.split(',')))
    res['command'] = 'tests/bench_kernel.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    print(json.dumps(res), flush=True)
    return res

if __name__ == '__main__': main()
