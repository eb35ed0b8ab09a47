"""Peak memory of the kit's evaluation passes by evaluation batch size (issue 13's peak-memory figure): one process per
batch size builds the MLP 1x512's learner on all 50,000 CIFAR-10 images and runs three training-set passes and one
test-set pass, printing RSS and peak RSS (MB) after each step. Appends to nbs/bench_results/eval_memory.txt. Not a test.

    python tests/probe_eval_memory.py [--data ../shared/data/cifar10.tgz] [--bs 1024 256]
"""
import argparse, os, resource, subprocess, sys
from pathlib import Path

OUT = Path(__file__).parent.parent/'nbs'/'bench_results'/'eval_memory.txt'

def probe(data, bs):
    import torch; torch.set_num_threads(1)
    rss = lambda: int(open('/proc/self/statm').read().split()[1])*4096/2**20
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024
    say = lambda s: print(f"eval_bs {bs:5d}  {s:24s} rss {rss():7.0f}  peak {peak():7.0f}", flush=True)
    from rethink_fastai.bench import bench_data
    from rethink_fastai.learner import rethink_learner
    from rethink_fastai.callbacks import eval_loader
    ds = bench_data(data, 50000, 10000, 0); say('data loaded')
    learn = rethink_learner(ds, arch='mlp1x512', bs=128, seed=0); say('learner built')
    rec = learn.convergence_recorder
    for i in range(3): rec.evaluate(eval_loader(learn.dls.train, bs)); say(f'train-set pass {i+1}')
    rec.evaluate(eval_loader(learn.dls.valid, bs)); say('test-set pass')

if __name__=='__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='../shared/data/cifar10.tgz'); p.add_argument('--bs', type=int, nargs='+', default=[1024, 256])
    p.add_argument('--one', type=int, default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: probe(a.data, a.one); sys.exit()
    lines = [f"# python tests/probe_eval_memory.py --bs {' '.join(map(str, a.bs))}; load {os.getloadavg()[0]:.2f}"]
    for bs in a.bs:
        r = subprocess.run([sys.executable, __file__, '--data', a.data, '--one', str(bs)], capture_output=True, text=True)
        lines += [l for l in r.stdout.splitlines() if l.startswith('eval_bs')]
    with open(OUT, 'a') as f: f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
