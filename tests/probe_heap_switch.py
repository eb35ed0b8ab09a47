"""Does switching the heap at every epoch cost a stack? `tests/profile_stack.py`'s workload (fig1b's 6 mlp1x512 runs
of seed 0 on digits, one vmap stack, 60 epochs) in fresh processes, by turns: 'per_epoch' (`fit_stack`'s own
`heap_kept` block taken away, so its learner's `KeepHeap` keeps and restores the heap at each epoch's `fit`, as before
commit 799f2c8), 'once' (the code as it is) and 'never' (`keep_heap` a no-op); then the same 6 runs separately
(`run_experiment`, 60 epochs each), 'once' against 'never'. Appends to nbs/bench_results/heap_switch.txt. Not a test.

    python tests/probe_heap_switch.py [--repeats 3]
"""
import argparse, os, subprocess, sys, time
from pathlib import Path

OUT = Path(__file__).parent.parent/'nbs'/'bench_results'/'heap_switch.txt'
CHILD = r'''
import contextlib, sys, time, torch
import rethink_fastai.callbacks as cb, rethink_fastai.stack as st
mode, how = sys.argv[1], sys.argv[2]
if mode=='never': cb.keep_heap = lambda keep=True: False
if mode=='per_epoch': st.heap_kept = lambda keep=True: contextlib.nullcontext(False)
from rethink_fastai.sweep import sweep_runs, trainer_args
from rethink_fastai.learner import run_experiment
torch.set_num_threads(1)
runs = [dict(trainer_args(r), epochs=60) for r in sweep_runs('fig1b', spec_kwargs=dict(archs=('mlp1x512',)), train_kwargs=dict(dataset='digits'), seeds=(0,))]
t = time.perf_counter()
if how=='stack': dict(st.stack_runs(runs, mode='vmap'))
else:
    for r in runs: run_experiment(**r, quiet=True)
print(f"{how} {mode}: {time.perf_counter()-t:.2f} s")
'''

if __name__=='__main__':
    p = argparse.ArgumentParser(); p.add_argument('--repeats', type=int, default=3); a = p.parse_args()
    lines = [f"# python tests/probe_heap_switch.py --repeats {a.repeats}, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}, one thread"]
    for how, modes in (('stack', ('per_epoch', 'once', 'never')), ('separate', ('once', 'never'))):
        for _ in range(a.repeats):
            for m in modes:
                r = subprocess.run([sys.executable, '-c', CHILD, m, how], capture_output=True, text=True, check=True)
                lines.append(r.stdout.strip().splitlines()[-1]); print(lines[-1], flush=True)
    lines.append(f"# load at the end {os.getloadavg()[0]:.2f}")
    with open(OUT, 'a') as f: f.write('\n'.join(lines) + '\n')
