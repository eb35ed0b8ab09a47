"""What a finished run leaves behind in one process: five CIFAR-10 runs on 20,000 images (fig1b's 20% corrupted labels,
2 epochs each, one thread) one after another, each in a fresh process per mode, with `collect_run` after each run
('collect', what a sweep does) or without it ('none'); then the cost of one `collect_run` outside and inside
`frozen_gc`. Prints each run's data setup (`compact_once`), wall time and the process's RSS after it; appends to
nbs/bench_results/collect_run.txt. Not a test.

    python tests/probe_collect.py [--data ../shared/data/cifar10.tgz]
"""
import argparse, os, subprocess, sys, time
from pathlib import Path

OUT = Path(__file__).parent.parent/'nbs'/'bench_results'/'collect_run.txt'
CHILD = r'''
import sys, time, torch
torch.set_num_threads(1)
import rethink_fastai.loaders as L
from rethink_fastai.learner import run_experiment
from rethink_fastai.sweep import collect_run, frozen_gc
mode, data = sys.argv[1], sys.argv[2]
orig, setup = L.compact_once, []
def timed(*a, **k):
    t = time.perf_counter(); r = orig(*a, **k); setup.append(time.perf_counter()-t); return r
L.compact_once = timed
def rss(): return int(open('/proc/self/statm').read().split()[1])*4096/2**20
for s in range(5):
    t = time.perf_counter()
    run_experiment(dataset='cifar10', data=data, subset=20000, randomization='partial_labels', corruption=0.2, seed=s, epochs=2, quiet=True)
    if mode=='collect': collect_run()
    print(f"{mode} run {s}: compact_once {setup[-1]:.2f} s, run {time.perf_counter()-t:.2f} s, RSS after {rss():.0f} MB", flush=True)
if mode=='collect':
    run_experiment(dataset='digits', epochs=1, quiet=True)
    t = time.perf_counter(); collect_run(); a = time.perf_counter()-t
    with frozen_gc():
        run_experiment(dataset='digits', epochs=1, quiet=True)
        t = time.perf_counter(); collect_run(); b = time.perf_counter()-t
    print(f"collect_run after a digits run: {a*1000:.0f} ms; inside frozen_gc: {b*1000:.1f} ms", flush=True)
'''

if __name__=='__main__':
    p = argparse.ArgumentParser(); p.add_argument('--data', default=str(Path(__file__).parent.parent.parent/'shared'/'data'/'cifar10.tgz'))
    a = p.parse_args()
    lines = [f"# python tests/probe_collect.py, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}"]
    for mode in ('none', 'collect'):
        r = subprocess.run([sys.executable, '-c', CHILD, mode, a.data], capture_output=True, text=True, check=True)
        lines += [l for l in r.stdout.splitlines() if l.startswith((mode, 'collect_run'))]
    lines.append(f"# load at the end {os.getloadavg()[0]:.2f}")
    print('\n'.join(lines))
    with open(OUT, 'a') as f: f.write('\n'.join(lines) + '\n')
