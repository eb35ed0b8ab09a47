#!/usr/bin/env python
"""Micro-benchmark of the hot path (issue 13; not a timed test, not collected by pytest). In one process, alternating
the contenders epoch by epoch (ABAB...) since the machine is shared, it prints the per-batch and per-epoch training time
(wall-clock and CPU time of this process) of:

- `limit`: the hand-written loop over raw `uint8` tensors (index, float, crop, whiten, forward, backward, SGD step);
- `limit_once`: the same loop over images preprocessed once, as the kit's loaders keep them (`loaders.compact_once`);
- `limit_once_floats`: the same loop over images preprocessed once into float32 (`loaders.preprocess_once`);
- `main_kit`: main's kit path: `rethink_learner` as main builds it (fastai's `Learner`, per-batch transforms, `sgd`);
- `kit_once`, `kit_dispatch`, `kit_plain_loss`: main's kit with the preprocessing once, then also `RethinkLearner`'s
  dispatch, then also `PlainCrossEntropyLossFlat` (a loss that is a plain tensor, not fastai's `TensorBase`);
- `new_kit`: all of these + torch's `foreach` SGD;
- `kit`: the learner exactly as `rethink_learner` builds it now; `kit_fastai_iter`: the same, its loaders iterated by
  fastai's `DataLoader.__iter__` (torch's loader and `to_device`) instead of `TensorDL.__iter__`.

and, apart, the time of one optimizer step through fastai's `OptimWrapper`, `foreach` off and on. Every figure comes
with the machine's load (`os.getloadavg()`).

    python tests/bench_hotpath.py [--data /work/shared/data/cifar10.tgz] [--models mlp1x512=20000,alexnet_small=2000,inception_small=500]
                                  [--rounds 5] [--threads 1] [--out FILE.json]
"""
import argparse, json, os, statistics, sys, time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT/'tests'):
    if str(p) not in sys.path: sys.path.insert(0, str(p)) # run from a checkout without installing

import torch, torch.nn.functional as F
from fastai.callback.core import Callback, CancelFitException
from fastai.learner import Learner
from fastai.optimizer import OptimWrapper
from fastai.torch_core import set_seed
from rethink_fastai.bench import bench_data, hand_epoch, hand_epoch_once
from rethink_fastai.loaders import batch_tfms, paper_crop, preprocess_once, compact_once
from rethink_fastai.models import rethink_model
from rethink_fastai.learner import rethink_learner, paper_lr, sgd
from rethink_fastai.callbacks import RethinkLearner, PlainCrossEntropyLossFlat
from test_hotpath import rebuilt_as

def load()->str: return '/'.join(f'{v:.2f}' for v in os.getloadavg())

def clocks()->tuple: return time.perf_counter(), time.process_time()
def since(t0:tuple)->tuple:
    "Wall-clock and CPU seconds (this process, all threads) since `t0`: on a shared machine CPU time varies less with the load"
    return tuple(b-a for a,b in zip(t0, clocks()))

class TrainTimer(Callback):
    "Time the training phase of one epoch, then end the fit (no evaluation: only training is compared)"
    order = 100
    def before_train(self): self.t0 = clocks()
    def after_train(self):
        self.train_s = since(self.t0)
        raise CancelFitException()

from fastai.data.load import DataLoader
from rethink_fastai.loaders import TensorDL
class FastaiIterDL(TensorDL):
    "A `TensorDL` iterated by fastai's `DataLoader.__iter__` (through torch's loader and `to_device`), as before `TensorDL.__iter__`"
    __iter__ = DataLoader.__iter__

class KitContender:
    "A kit learner trained one epoch per call"
    def __init__(self, ds, arch, bs, seed, preprocess, cls, foreach, plain_loss=False, fastai_iter=False):
        base = rethink_learner(ds, arch=arch, bs=bs, seed=seed, device='cpu', preprocess=preprocess,
                               opt_func=partial(sgd, mom=0.9, foreach=True) if foreach else None)
        self.learn = base if cls is Learner else rebuilt_as(base, cls)
        if plain_loss: self.learn.loss_func = PlainCrossEntropyLossFlat()
        if fastai_iter:
            for dl in self.learn.dls.loaders:
                if type(dl) is TensorDL: dl.__class__ = FastaiIterDL
        self.learn.convergence_recorder.eval_init = False # no evaluation at the start of every `fit`
        self.n_batches = len(self.learn.dls.train)
    def epoch(self)->tuple:
        t = TrainTimer()
        with self.learn.no_bar(), self.learn.no_logging(): self.learn.fit(1, cbs=t)
        return t.train_s

class LimitContender:
    "The hand-written loop, over raw `uint8` images (`once=False`) or images preprocessed once"
    def __init__(self, ds, arch, bs, seed, once, floats=False):
        crop = paper_crop(ds.shape)
        shape = (ds.shape[0], crop, crop) if crop else ds.shape
        set_seed(seed); self.model = rethink_model(arch, shape, ds.c)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=paper_lr(arch), momentum=0.9)
        self.x = (preprocess_once if floats else compact_once)(ds.x_train, batch_tfms(ds.shape)) if once else ds.x_train
        self.y, self.bs, self.crop, self.once = ds.y_train, bs, crop, once
        self.n_batches = len(self.y)//bs
    def epoch(self)->tuple:
        t = clocks()
        if self.once: hand_epoch_once(self.model, self.opt, self.x, self.y, self.bs)
        else: hand_epoch(self.model, self.opt, self.x, self.y, self.bs, self.crop)
        return since(t)

CONTENDERS = dict(
    limit=partial(LimitContender, once=False), limit_once=partial(LimitContender, once=True),
    limit_once_floats=partial(LimitContender, once=True, floats=True), # preprocessed once into float32 (4x the memory)
    main_kit=partial(KitContender, preprocess='batch', cls=Learner, foreach=False),
    kit_once=partial(KitContender, preprocess='once', cls=Learner, foreach=False),
    kit_dispatch=partial(KitContender, preprocess='once', cls=RethinkLearner, foreach=False),
    kit_plain_loss=partial(KitContender, preprocess='once', cls=RethinkLearner, foreach=False, plain_loss=True),
    new_kit=partial(KitContender, preprocess='once', cls=RethinkLearner, foreach=True, plain_loss=True),
    kit=partial(KitContender, preprocess='once', cls=Learner, foreach=False), # the learner exactly as `rethink_learner` builds it
    kit_fastai_iter=partial(KitContender, preprocess='once', cls=Learner, foreach=False, fastai_iter=True))

def bench_model(data, arch, n_train, n_test, rounds, bs=128, seed=0, names=tuple(CONTENDERS))->dict:
    "Train every contender one epoch per round, alternating; the first round is a warm-up"
    ds = bench_data(data, n_train, n_test, seed)
    cs = {n: CONTENDERS[n](ds, arch, bs, seed) for n in names}
    times = {n: [] for n in names}
    print(f"\n## {arch}: {len(ds.x_train)} training images, batch {bs}, {rounds} rounds after a warm-up, {torch.get_num_threads()} thread(s)")
    for r in range(rounds+1):
        for n, c in cs.items():
            w, u = c.epoch()
            if r: times[n].append((w, u))
            print(f"round {r}{' (warm-up)' if not r else ''}  {n:<14} epoch {w:7.3f} s wall {u:7.3f} s CPU  batch {1e3*w/c.n_batches:7.2f} ms wall "
                  f"{1e3*u/c.n_batches:7.2f} ms CPU  load {load()}", flush=True)
    med = lambda n, i: statistics.median(t[i] for t in times[n])
    res = {n: dict(epoch_s=med(n, 0), cpu_s=med(n, 1), batch_ms=1e3*med(n, 0)/cs[n].n_batches, batch_cpu_ms=1e3*med(n, 1)/cs[n].n_batches,
                   epochs=times[n], n_batches=cs[n].n_batches) for n in names}
    print(f"\n{arch} (medians; load {load()}):")
    print(f"{'contender':<14} {'epoch s':>8} {'batch ms':>9} {'/limit':>7} {'/limit_once':>11}   {'CPU s':>7} {'CPU ms':>7} {'/limit':>7} {'/limit_once':>11}")
    for n, v in res.items():
        for k, key in (('', 'epoch_s'), ('cpu_', 'cpu_s')):
            v[f'{k}over_limit'] = v[key]/res['limit'][key] if 'limit' in res else float('nan')
            v[f'{k}over_limit_once'] = v[key]/res['limit_once'][key] if 'limit_once' in res else float('nan')
        print(f"{n:<14} {v['epoch_s']:8.3f} {v['batch_ms']:9.2f} {v['over_limit']:7.3f} {v['over_limit_once']:11.3f}   "
              f"{v['cpu_s']:7.3f} {v['batch_cpu_ms']:7.2f} {v['cpu_over_limit']:7.3f} {v['cpu_over_limit_once']:11.3f}")
    return dict(arch=arch, n_train=len(ds.x_train), bs=bs, rounds=rounds, load_end=os.getloadavg(), contenders=res)

def bench_step(arch, shape=(3,28,28), steps=100, rounds=5)->dict:
    "Time one optimizer step (`OptimWrapper` over torch's SGD with momentum) with `foreach` off and on, alternating"
    set_seed(0); model = rethink_model(arch, shape, 10)
    params = list(model.parameters())
    for p in params: p.grad = torch.randn_like(p)
    opts = {fe: OptimWrapper(params, opt=torch.optim.SGD, lr=1e-3, momentum=0.9, foreach=fe) for fe in (False, True)}
    times = {fe: [] for fe in opts}
    for r in range(rounds+1):
        for fe, o in opts.items():
            t = clocks()
            for _ in range(steps): o.step()
            if r: times[fe].append(since(t))
    res = {f'foreach={fe}': 1e6*statistics.median(w for w,_ in t)/steps for fe, t in times.items()}
    cpu = {f'foreach={fe}': 1e6*statistics.median(u for _,u in t)/steps for fe, t in times.items()}
    print(f"{arch:<16} {len(params):4d} tensors {sum(p.numel() for p in params):>10,} params  step: foreach off {res['foreach=False']:8.1f} us wall "
          f"{cpu['foreach=False']:8.1f} us CPU, on {res['foreach=True']:8.1f} us wall {cpu['foreach=True']:8.1f} us CPU  load {load()}", flush=True)
    return dict(arch=arch, n_tensors=len(params), us_per_step=res, cpu_us_per_step=cpu)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--data', default='/work/shared/data/cifar10.tgz', help="CIFAR-10 archive or folder ('synthetic' for random tensors of its shape)")
    p.add_argument('--models', default='mlp1x512=20000,alexnet_small=2000,inception_small=500', help="arch=training images, comma-separated")
    p.add_argument('--n-test', type=int, default=1000, help="test images kept (not timed: only training is)")
    p.add_argument('--rounds', type=int, default=5, help="timed epochs per contender, after a warm-up")
    p.add_argument('--contenders', default=','.join(CONTENDERS))
    p.add_argument('--step-iters', type=int, default=100, help="optimizer steps per timed round of the step benchmark")
    p.add_argument('--threads', type=int, default=1, help="torch threads (1 on a shared machine)")
    p.add_argument('--out', default=None, help="JSON file for the figures")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    data = None if a.data=='synthetic' else a.data
    print(f"# hot-path bench: data {a.data}, torch {torch.__version__}, {a.threads} thread(s), {os.cpu_count()} CPUs, load {load()}")
    out = dict(data=a.data, threads=a.threads, models=[], steps=[])
    print("\n## optimizer step (OptimWrapper over torch.optim.SGD, momentum 0.9)")
    for spec in a.models.split(','): out['steps'].append(bench_step(spec.split('=')[0], steps=a.step_iters))
    for spec in a.models.split(','):
        arch, n = spec.split('=') if '=' in spec else (spec, None)
        out['models'].append(bench_model(data, arch, int(n) if n else None, a.n_test, a.rounds, names=tuple(a.contenders.split(','))))
    if a.out: Path(a.out).write_text(json.dumps(out, indent=1))
    return out

if __name__=='__main__': main()
