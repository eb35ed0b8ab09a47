"""What handing the C heap back to the system between epochs costs the next training epoch (issue 13's Inception
kit/limit): small Inception, one thread, the hand loop preprocessed once over 2,000 random images, five epochs, each
followed by a condition, in a new process per condition and repeat:
`none`; `fp32`/`bf16` (a 10,000-image evaluation pass at batch 64 after each epoch, as the kit's test passes);
`bf16trim` (that pass, then glibc's `malloc_trim(0)`, which the kit's recorder calls after every pass and epoch:
`callbacks.release_memory`). Prints each epoch's seconds/minor page faults and the median of epochs 2-5. Not a test.

    python tests/probe_trim.py [--repeats 2] [--conds none fp32 bf16 bf16trim]
"""
import argparse, resource, statistics, subprocess, sys, time

def probe(cond):
    import torch
    from rethink_fastai.bench import hand_epoch_once, hand_eval
    from rethink_fastai.callbacks import release_memory
    from rethink_fastai.models import rethink_model
    torch.set_num_threads(1); torch.manual_seed(0)
    x, y = torch.randn(2000,3,28,28), torch.randint(0,10,(2000,))
    xt, yt = torch.randn(10000,3,28,28), torch.randint(0,10,(10000,))
    m = rethink_model('inception_small', (3,28,28), 10).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    faults, out = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt, []
    for ep in range(5):
        f0, t = faults(), time.perf_counter()
        hand_epoch_once(m, opt, x, y, 128)
        out.append((time.perf_counter()-t, faults()-f0))
        if cond!='none':
            hand_eval(m, xt, yt, 64, None, 'bf16' if 'bf16' in cond else 'fp32', True)
            if 'trim' in cond: release_memory()
    print(cond, ' '.join(f'{d:.3f}/{f}' for d, f in out), 'median(2:)', f"{statistics.median(d for d, _ in out[1:]):.3f}", flush=True)

if __name__=='__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--repeats', type=int, default=2); p.add_argument('--conds', nargs='+', default=['none', 'fp32', 'bf16', 'bf16trim'])
    p.add_argument('--one', default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.one: probe(a.one)
    else:
        for r in range(a.repeats):
            for c in a.conds: subprocess.run([sys.executable, __file__, '--one', c], check=True)
