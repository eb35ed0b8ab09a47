"""Issue 13's Inception kit/limit: one training epoch of the kit's learner against the hand loop over the same images
preprocessed once (`limit_once`), small Inception, one thread, 2,000 synthetic CIFAR-10-shaped images, five epochs, a new
process per contender, heap setting and repeat, alternating. Prints each epoch's seconds/minor page faults (the training
phase only: the kit's evaluation passes between epochs are not timed), the median of epochs 2-5 and the process's peak
RSS. Heap settings: `glibc` (glibc's defaults in both) and `kept` (`keep_heap` in both: the kit's `KeepHeap`, as the
benchmark's hand loops do). Not a test.

    python tests/probe_faults.py [--repeats 2] [--epochs 5] [--heaps glibc kept]
"""
import argparse, resource, statistics, subprocess, sys, time

def probe(cond, epochs, heap='kept'):
    import torch
    from fastai.callback.core import Callback
    from fastai.torch_core import set_seed
    from rethink_fastai.bench import bench_data, hand_epoch_once
    from rethink_fastai.callbacks import keep_heap
    from rethink_fastai.learner import rethink_learner, paper_lr, default_channels_last
    from rethink_fastai.loaders import compact_once, batch_tfms
    from rethink_fastai.models import rethink_model
    torch.set_num_threads(1)
    faults, out = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt, []
    ds = bench_data(None, 2000, 10000, 0)
    if cond=='kit':
        class Clock(Callback):
            order = 100
            def before_train(self): self.f0, self.t0 = faults(), time.perf_counter()
            def after_train(self): out.append((time.perf_counter()-self.t0, faults()-self.f0))
        learn = rethink_learner(ds, arch='inception_small', bs=128, seed=0, keep_heap=heap!='glibc')
        with learn.no_bar(), learn.no_logging(): learn.fit(epochs, cbs=Clock())
    else: # as the benchmark's `limit_once` contender
        set_seed(0); m = rethink_model('inception_small', (3,28,28), 10)
        if default_channels_last('cpu', m): m = m.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(m.parameters(), lr=paper_lr('inception_small'), momentum=0.9)
        x = compact_once(ds.x_train, batch_tfms(ds.shape), torch.float32)
        if heap!='glibc': keep_heap() # as the benchmark's hand loops, and the kit during its fit
        for _ in range(epochs):
            f0, t = faults(), time.perf_counter(); hand_epoch_once(m, opt, x, ds.y_train, 128); out.append((time.perf_counter()-t, faults()-f0))
    print(cond, heap, ' '.join(f'{d:.3f}/{f}' for d, f in out), 'median(2:)', f"{statistics.median(d for d, _ in out[1:]):.3f}",
          'peak_rss_mb', f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f}", flush=True)

if __name__=='__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--repeats', type=int, default=2); p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--heaps', nargs='+', default=['glibc', 'kept'], choices=['glibc', 'kept'])
    p.add_argument('--one', default=None, help=argparse.SUPPRESS); p.add_argument('--heap', default='kept', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: probe(a.one, a.epochs, a.heap)
    else:
        for r in range(a.repeats):
            for h in a.heaps:
                for c in ('kit', 'limit_once'):
                    subprocess.run([sys.executable, '-W', 'ignore', __file__, '--one', c, '--epochs', str(a.epochs), '--heap', h], check=True)
