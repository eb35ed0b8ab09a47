"""Benchmark of stacked runs (`rethink_fastai.stack`): exactness per architecture, a stacked sweep against a separate one,
per-run time on a CIFAR-10 subset, and the step-time table of when stacking pays. Prints every figure with the
machine's load (other developers share its cores) and writes them to nbs/bench_results/stack.json.

    python tests/bench_stack.py [exact] [exact64] [sweep] [cifar] [table] [layout] [timm]   # default: all
    MODE=vmap python tests/bench_stack.py exact   # the stack's mode (exact: default loop; sweep, cifar: default auto)
    RUN_THREADS=2 python tests/bench_stack.py cifar   # each run (and stack) on 2 torch threads (default: the runs' default, 1)
    EPOCHS=8 K=8 python tests/bench_stack.py sweep   # a budget of 8 epochs per run, stacks of 8 (default K=auto)
    SHAPES=1 python tests/bench_stack.py table       # digits' 1x8x8 only (2: also CIFAR's 3x28x28)
    ARCHS=mlp1x512,mlp3x512 python tests/bench_stack.py table   # these architectures only
"""
import json, os, sys, tempfile, time
from pathlib import Path
import torch
from rethink_fastai.models import PAPER_ARCHS, rethink_model
from rethink_fastai.learner import run_experiment
from rethink_fastai.sweep import sweep
from rethink_fastai.stack import stack_runs, stack_timing, stack_error
sys.path.insert(0, str(Path(__file__).parent))
from test_stack import RUNS, rel_dev, step_losses, separate, stacked, noise_floor

OUT = Path(__file__).parent.parent/'nbs'/'bench_results'/'stack.json'
def load(): return dict(load_1m=round(os.getloadavg()[0], 2), cores=os.cpu_count(), threads=torch.get_num_threads())
def say(name, **fig):
    fig |= load(); print(name, json.dumps(fig), flush=True)
    res = json.loads(OUT.read_text()) if OUT.exists() else {}
    res.setdefault(name, []).append(fig); OUT.write_text(json.dumps(res, indent=1))

def exact(steps=50, k=3, bs=128, mode=os.environ.get('MODE', 'loop')):
    """Each paper architecture, a stack of 3 against the 3 separate runs, first 50 steps, fp32 CPU, digits. A vmap stack's
    members train contiguous (not channels_last), so their separate runs do too; its figure comes with the noise floor"""
    for arch in PAPER_ARCHS:
        kw = dict(steps=steps, until_fit=False, bs=bs) | (dict(channels_last=False) if mode=='vmap' else {})
        t = time.perf_counter(); sep = separate(arch, RUNS[:k], **kw); t_sep = time.perf_counter()-t
        t = time.perf_counter(); stk = stacked(arch, RUNS[:k], mode=mode, **kw); t_stk = time.perf_counter()-t
        devs = [rel_dev(a, b) for a, b in zip(step_losses(stk), step_losses(sep))]
        first = [rel_dev(a[:1], b[:1]) for a, b in zip(step_losses(stk), step_losses(sep))]
        e = stack_error([rethink_model(arch, (1,8,8)) for _ in range(k)], (1,8,8), mode=mode)
        floor = dict(noise_floor_1e6=noise_floor(arch, RUNS[:k], sep, **kw)) if mode=='vmap' else {}
        say('exact', arch=arch, mode=mode, k=k, steps=steps, bs=bs, max_rel_dev=max(devs), first_step_rel_dev=max(first),
            **floor, one_step=e, seconds_separate=round(t_sep, 1), seconds_stacked=round(t_stk, 1))

def exact64(steps=50, k=3, bs=128):
    """The stacking itself, without float32's rounding: each paper architecture in float64, a stack of 3 against the 3
    separate models, 50 SGD steps (the paper's lr, momentum 0.9) on the same random 1x8x8 batches, BatchNorm in training mode"""
    import copy, torch.nn.functional as F
    from rethink_fastai.learner import paper_lr
    from rethink_fastai.stack import stack_models, member_losses
    for arch in PAPER_ARCHS:
        torch.manual_seed(0)
        models = [rethink_model(arch, (1,8,8)).double().train() for _ in range(k)]
        sep = [copy.deepcopy(m) for m in models]
        sm = stack_models([copy.deepcopy(m) for m in models], tie=False)
        lr = paper_lr(arch)
        opts = [torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9) for m in sep]
        opt = torch.optim.SGD(sm.parameters(), lr=lr, momentum=0.9)
        g = torch.Generator().manual_seed(1)
        ls_sep, ls_stk = [], []
        t = time.perf_counter()
        for _ in range(steps):
            x = torch.randn(k, bs, 1, 8, 8, generator=g, dtype=torch.float64); y = torch.randint(0, 10, (k, bs), generator=g)
            l = member_losses(sm(x), y); opt.zero_grad(); l.sum().backward(); opt.step(); ls_stk.append(l.detach())
            row = []
            for i, (m, o) in enumerate(zip(sep, opts)):
                li = F.cross_entropy(m(x[i]), y[i]); o.zero_grad(); li.backward(); o.step(); row.append(li.detach())
            ls_sep.append(torch.stack(row))
        a, b = torch.stack(ls_stk), torch.stack(ls_sep)
        say('exact64', arch=arch, k=k, steps=steps, bs=bs, max_rel_dev=((a-b).abs()/b.abs()).max().item(), seconds=round(time.perf_counter()-t, 1))

def compare_sweeps(spec='fig1b', k='auto', mode=os.environ.get('MODE', 'auto'), **kw):
    "The same sweep, separate (local executor) then stacked; wall times, keys, and how far each member's record is from its separate run's"
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter(); a = sweep(spec, Path(d)/'a.sqlite', **kw); t_a = time.perf_counter()-t
        t = time.perf_counter(); b = sweep(spec, Path(d)/'b.sqlite', executor='stack', executor_kwargs=dict(k=k, mode=mode), **kw); t_b = time.perf_counter()-t
    a, b = a.set_index('key').sort_index(), b.set_index('key').sort_index()
    diff = lambda c: float((a[c].astype(float)-b[c].astype(float)).abs().max())
    return dict(runs=len(a), same_keys=list(a.index)==list(b.index), seconds_separate=round(t_a, 1), seconds_stacked=round(t_b, 1),
                ratio=round(t_b/t_a, 3), max_abs_diff=dict(train_acc=diff('train_acc'), test_acc=diff('test_acc'), epochs_to_fit=diff('epochs_to_fit')),
                same_epochs_to_fit=bool((a.epochs_to_fit.fillna(-1)==b.epochs_to_fit.fillna(-1)).all()),
                stack_sizes=sorted(set(b['stack.k'].dropna().astype(int))) if 'stack.k' in b else [],
                mode=mode, stack_modes=sorted(set(b['stack.mode'].dropna())) if 'stack.mode' in b else [])

def sweep_digits(epochs=int(os.environ.get('EPOCHS', 0)) or None):
    "`rethink sweep fig1b --dataset digits --archs mlp1x512 --seeds 0 1 2` (`EPOCHS`: a budget), separate and with k='auto'"
    k = os.environ.get('K', 'auto'); k = k if k=='auto' else int(k)
    say('sweep_digits', epochs=epochs, k=k, **compare_sweeps(k=k, spec_kwargs=dict(archs=('mlp1x512',)), dataset='digits', seeds=(0,1,2), epochs=epochs))

def cifar(epochs=2, subset=20_000, threads=int(os.environ.get('RUN_THREADS', 1))):
    "mlp1x512 fig1b on a 20,000-image CIFAR-10 subset, a fixed budget of epochs: per-run time stacked / separate (`RUN_THREADS`: each run's torch threads)"
    say('cifar_subset', subset=subset, epochs=epochs, run_threads=threads, **compare_sweeps(spec_kwargs=dict(archs=('mlp1x512',)), dataset='cifar10',
        data='/work/shared/data/cifar10.tgz', subset=subset, epochs=epochs, train_kwargs=dict(threads=threads)))

def table(ks=(2, 4, 8), shapes=((1,8,8), (3,28,28))[:int(os.environ.get('SHAPES', 2))],
          archs=tuple(os.environ['ARCHS'].split(',')) if os.environ.get('ARCHS') else PAPER_ARCHS):
    "Seconds per training step of K models, separate and stacked (`stack_timing`), batch 128, fp32, this CPU"
    for shape in shapes:
        for arch in archs:
            for k in ks:
                if shape[1]==28 and arch.startswith('inception') and k>4: continue # minutes per point on this CPU
                t = stack_timing(rethink_model(arch, shape), shape, k=k, steps=2 if shape[1]==28 else 5)
                say('table', arch=arch, shape=list(shape), k=k, **{n: round(v, 5) for n,v in t.items()})

def layout(ks=(2, 4, 6), steps=5, shape=(3, 28, 28)):
    "One stacked SGD step of mlp1x512 at CIFAR's input size, the parameters stored contiguous against in their gradients' layout (`match_grad_layout`)"
    m = rethink_model('mlp1x512', shape)
    for k in ks:
        c, g = (stack_timing(m, shape, k=k, steps=steps, layout=lay) for lay in (False, True))
        say('layout', arch='mlp1x512', shape=list(shape), k=k, steps=steps, contiguous=round(c['stacked'], 5), grad_layout=round(g['stacked'], 5),
            separate=round(g['separate'], 5), contiguous_over_separate=round(c['ratio'], 3), grad_layout_over_separate=round(g['ratio'], 3))

def timm_check(names=('resnet18', 'vit_tiny_patch16_224', 'efficientnet_b0', 'convnext_atto', 'mobilenetv3_small_050')):
    "Which timm models `vmap` stacks exactly (`can_stack`), at CIFAR's 3x32x32; the others run separately"
    from rethink_fastai.stack import can_stack
    for n in names:
        try: ok = can_stack(rethink_model(n, (3,32,32)), (3,32,32))
        except Exception as e: ok = f'no model: {e!r}'[:200]
        say('timm', arch=n, can_stack=ok)

if __name__=='__main__':
    torch.set_num_threads(int(os.environ.get('THREADS', 1)))
    parts = dict(exact=exact, exact64=exact64, sweep=sweep_digits, cifar=cifar, table=table, layout=layout, timm=timm_check)
    for p in (sys.argv[1:] or parts): parts[p]()
