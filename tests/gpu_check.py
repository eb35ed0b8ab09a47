"""The kit's GPU check: one prepared script, at most 8 minutes on one GPU, writing `gpu.json` and `gpu.md` into `--out`.

1. **Precision**: the small Inception on CIFAR-10 for `--steps` (300) SGD steps in fp32, bf16 and fp16, from the
   same seed and the same batches; the loss curves (means over windows of `WINDOW` steps) must agree with fp32's
   within `TOLERANCE` (absolute, in nats), the curves' own step-to-step noise being far above the rounding of
   either half precision.
2. **Bench**: `rethink_fastai.bench.bench` for mlp1x512, alexnet_small and inception_small (the kit, the hand loop,
   the hand loop preprocessed once): kit/limit, images/s and peak GPU memory, in fp32/bf16/fp16, with and without
   `--compile`.
3. **Stacked runs**: K=8 small Inceptions in bf16 (`rethink_fastai.stack.fit_stack`) against one run alone, the
   same number of steps: runs per hour, stacked over separate (issue 14's target: at least 4x).
4. **Full scale**: the small Inception, true labels, all 50,000 CIFAR-10 images, until the training set is fitted
   (or `--full-seconds`), with its time; from it a projection of the GPU-hours of the paper's Table 1 and Figure 1.

`python tests/gpu_check.py --data /path/cifar10.tgz --out nbs/bench_results` on the GPU; in the test suite
`--device cpu --tiny` runs every part at a tiny size on synthetic CIFAR-shaped data (no `--data`): fp16 is then
skipped (it needs CUDA) and the projection is made from the tiny run, which says so.
"""
from __future__ import annotations
import argparse, json, os, sys, tempfile, time
from pathlib import Path
import torch

TOLERANCE = 0.05 # largest |mean loss over a window - fp32's| in nats, for bf16 and fp16
WINDOW = 25      # steps per window of the loss curves compared
PRECISIONS = ('fp32', 'bf16', 'fp16')
MODELS = ('mlp1x512', 'alexnet_small', 'inception_small')
RANDOM_OVER_TRUE = 3. # time to fit random labels over true labels: about 3x for the small Inception in the paper's Figure 1b

def _load(): return '/'.join(f'{v:.2f}' for v in os.getloadavg())

def _dataset(data, n_train, n_test, seed=0):
    "CIFAR-10 from `data` (or synthetic tensors of its shape), cut to `n_train`/`n_test` images"
    from rethink_fastai.bench import bench_data
    return bench_data(data, n_train, n_test, seed)

def windows(losses:list, w:int=WINDOW)->list:
    "Means of `losses` over consecutive windows of `w` steps (the last partial one dropped, unless it is the only one)"
    n = max(len(losses)//w, 1)
    w = min(w, len(losses))
    return [sum(losses[i*w:(i+1)*w])/w for i in range(n)]

def precision_check(ds, device, steps, bs=128, log=print)->dict:
    "The small Inception for `steps` steps in each precision, same seed and batches; its loss curves against fp32's"
    from rethink_fastai.learner import rethink_learner
    from rethink_fastai.callbacks import sync
    res = {}
    for prec in PRECISIONS:
        if prec=='fp16' and torch.device(device).type!='cuda': res[prec] = dict(skipped='fp16 needs CUDA (fastai to_fp16)'); continue
        learn = rethink_learner(ds, arch='inception_small', precision=prec, device=device, seed=0, bs=bs)
        t = time.perf_counter()
        r = learn.fit_memorize(steps=steps, until_fit=False, quiet=True)
        sync(device)
        res[prec] = dict(seconds=time.perf_counter()-t, steps=r['steps'], loss=r['steps_log']['loss'], final_train_acc=r['train_acc'])
        log(f"  precision {prec}: {r['steps']} steps in {res[prec]['seconds']:.1f} s, last loss {r['steps_log']['loss'][-1]:.3f}")
    ref = windows(res['fp32']['loss'])
    for prec in PRECISIONS[1:]:
        if 'loss' not in res[prec]: continue
        d = max(abs(a-b) for a, b in zip(windows(res[prec]['loss']), ref))
        res[prec].update(max_window_diff=d, agrees=d <= TOLERANCE)
    return dict(tolerance=TOLERANCE, window=WINDOW, steps=steps, runs=res)

def bench_check(data, device, tiny, out:Path, log=print)->list:
    "`bench` per precision, with and without compile: kit/limit, images/s and peak GPU memory per model"
    from rethink_fastai.bench import bench
    rows = []
    cuda = torch.device(device).type=='cuda'
    precs = [p for p in PRECISIONS if p!='fp16' or cuda] if not tiny else ['fp32'] # tiny: the machinery, once
    for compile in ((False, True) if cuda else (False,)): # on the CPU, compiling takes minutes of C++ builds: not in a test
        for prec in precs:
            t = time.perf_counter()
            r = bench(data=data, subset=256 if tiny else None, epochs=1 if tiny else 2, out=out/f'bench_{prec}_{int(compile)}',
                      models=('mlp1x512',) if tiny else MODELS, inception_subset=None, precision=prec, device=device,
                      profile=False, load=False, compile=compile, contenders=('kit', 'limit', 'limit_once'), log=None)
            for arch, m in r['models'].items():
                k = m['contenders']['kit']
                rows.append(dict(model=arch, precision=prec, compile=compile, n_train=m['n_train'],
                                 kit_over_limit=m['kit_over_limit_time'], kit_over_limit_once=m['kit_over_limit_once_time'],
                                 images_per_s=k['images_per_s'], limit_images_per_s=m['contenders']['limit']['images_per_s'],
                                 peak_gpu_mb=k.get('peak_gpu_mb'), limit_peak_gpu_mb=m['contenders']['limit'].get('peak_gpu_mb')))
            log(f"  bench {prec}{' compiled' if compile else ''}: {time.perf_counter()-t:.0f} s; load {_load()}")
    return rows

def full_check(ds, device, seconds, bs=128, log=print)->dict:
    "The small Inception with true labels on `ds` until fitted (or `seconds`): the basis of the projection"
    from rethink_fastai.learner import rethink_learner
    learn = rethink_learner(ds, arch='inception_small', precision='bf16' if torch.device(device).type=='cuda' else 'fp32', device=device, bs=bs)
    t = time.perf_counter()
    r = learn.fit_memorize(seconds=seconds, quiet=True)
    wall = time.perf_counter()-t
    log(f"  full run: {r['stopped_because']} after {r['epochs']} epochs, {wall:.0f} s (training {r['train_seconds']:.0f} s)")
    return dict(n_train=len(learn.dls.train_ds), precision=learn.rethink_config['precision'], stopped_because=r['stopped_because'],
                epochs=r['epochs'], epochs_to_fit=r['epochs_to_fit'], seconds_to_fit=r['seconds_to_fit'], wall_s=wall,
                train_seconds=r['train_seconds'], eval_seconds=r['eval_seconds'], train_acc=r['train_acc'], test_acc=r['test_acc'],
                seconds_per_epoch=r['train_seconds']/max(r['epochs'], 1),
                recorder_losses_on_cpu=all(l.device.type=='cpu' for l in learn.recorder.losses), # kept on the device within an epoch (`RethinkRecorder`)
                recorder_steps=len(learn.recorder.losses))

def stack_check(ds, device, k, steps, bs=128, log=print)->dict:
    "The small Inception, `k` runs stacked against one alone, `steps` steps each, bf16 on CUDA (fp32 elsewhere): runs per hour"
    from rethink_fastai.learner import rethink_learner
    from rethink_fastai.stack import fit_stack
    prec = 'bf16' if torch.device(device).type=='cuda' else 'fp32'
    mk = lambda seed: rethink_learner(ds, arch='inception_small', precision=prec, device=device, seed=seed, bs=bs, channels_last=False)
    one = mk(0).fit_memorize(steps=steps, until_fit=False, quiet=True)
    recs = dict(fit_stack([mk(s) for s in range(k)], steps=steps, until_fit=False, mode='vmap')) # batched: what fills a GPU
    stacked = max(r['train_seconds'] for r in recs.values()) # every member waits for the stack: its training time is the stack's
    res = dict(k=k, mode='vmap', steps=steps, precision=prec, bs=bs, separate_train_s=one['train_seconds'], stacked_train_s=stacked,
               runs_per_hour_separate=3600/one['train_seconds'], runs_per_hour_stacked=3600*k/stacked,
               stacked_over_separate_runs_per_hour=k*one['train_seconds']/stacked, target=4.)
    log(f"  stack: K={k} {prec}, {steps} steps: {stacked:.1f} s stacked, {one['train_seconds']:.1f} s one run alone; "
        f"runs per hour {res['stacked_over_separate_runs_per_hour']:.2f}x separate; load {_load()}")
    return res

def _run_cost(run:dict, r:float)->float:
    "A spec run's time in units of the true-label run: 1 for true labels, `r` for random labels or images, 1+p(r-1) for corruption p"
    rz = run.get('randomization', 'true_labels')
    if rz=='true_labels': return 1.
    if rz=='partial_labels': return 1. + run.get('corruption', 1.)*(r-1.)
    return r

def projection(full:dict, random_over_true:float=RANDOM_OVER_TRUE)->dict:
    "GPU-hours of Table 1 and Figure 1 (their runs from `experiments.spec_runs`), every run costed as the measured small Inception"
    from rethink_fastai.experiments import spec_runs
    per_run = full['wall_s'] if full['stopped_because']=='fitted' else full['seconds_per_epoch']*60 # not fitted: 60 epochs assumed
    t1 = spec_runs('table1')
    f1 = {json.dumps(r, sort_keys=True, default=str): r for k in ('fig1a', 'fig1b', 'fig1c') for r in spec_runs(k)} # 1b and 1c share runs
    hours = lambda runs: sum(_run_cost(r, random_over_true) for r in runs)*per_run/3600
    return dict(seconds_per_true_label_run=per_run, random_over_true=random_over_true, table1_runs=len(t1), figure1_runs=len(f1),
                table1_gpu_hours=hours(t1), figure1_gpu_hours=hours(f1.values()),
                basis=('the fitted run' if full['stopped_because']=='fitted' else
                       f"a run not fitted ({full['stopped_because']}): 60 epochs at its seconds per epoch")
                      + '; AlexNet and the MLPs costed as the Inception (an upper bound)')

def markdown(res:dict)->str:
    "gpu.json as a Markdown page"
    L = [f"# GPU check, {res['created']}", "", f"- device: {res['device']} ({res['gpu'] or 'no GPU'}); torch {res['torch']}; "
         f"{'tiny sizes, synthetic data' if res['tiny'] else res['data']}; load average {res['load_start']} to {res['load_end']}", ""]
    p = res['precision']
    L += [f"## Precision: small Inception, {p['steps']} steps", "",
          f"Loss curves as means over {p['window']}-step windows; agreement: every window within {p['tolerance']} of fp32's.", "",
          "| precision | seconds | last loss | max window diff | agrees |", "|---|---|---|---|---|"]
    for k, v in p['runs'].items():
        if 'skipped' in v: L.append(f"| {k} | skipped: {v['skipped']} | | | |"); continue
        L.append(f"| {k} | {v['seconds']:.1f} | {v['loss'][-1]:.3f} | {v.get('max_window_diff', 0):.4f} | {v.get('agrees', 'reference')} |")
    L += ["", "## Bench (kit, hand loop, hand loop preprocessed once)", "",
          "| model | precision | compile | images | kit/limit | kit/limit once | kit images/s | limit images/s | kit peak GPU MB | limit peak GPU MB |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, d=3: 'n/a' if v is None else f'{v:.{d}f}'
    for r in res['bench']:
        L.append(f"| {r['model']} | {r['precision']} | {r['compile']} | {r['n_train']:,} | {f(r['kit_over_limit'])} | {f(r['kit_over_limit_once'])} | "
                 f"{r['images_per_s']:,.0f} | {r['limit_images_per_s']:,.0f} | {f(r['peak_gpu_mb'], 0)} | {f(r['limit_peak_gpu_mb'], 0)} |")
    st = res['stack']
    L += ["", f"## Stacked runs: small Inception, K={st['k']}, {st['precision']}", "",
          f"{st['steps']} steps of batch {st['bs']}: {st['stacked_train_s']:.1f} s for the stack of {st['k']}, {st['separate_train_s']:.1f} s "
          f"for one run alone: {st['runs_per_hour_stacked']:,.0f} runs per hour stacked against {st['runs_per_hour_separate']:,.0f} separate, "
          f"**{st['stacked_over_separate_runs_per_hour']:.2f}x** (target {st['target']:g}x)."]
    fu, pr = res['full'], res['projection']
    L += ["", "## Full scale: small Inception, true labels", "",
          f"{fu['n_train']:,} training images, {fu['precision']}: {fu['stopped_because']} after {fu['epochs']} epochs "
          f"(fit at epoch {fu['epochs_to_fit']}), {fu['wall_s']:.0f} s wall, {fu['train_seconds']:.0f} s training, "
          f"{fu['eval_seconds']:.0f} s evaluation; train acc {f(fu['train_acc'])}, test acc {f(fu['test_acc'])}.", "",
          f"Projection from {pr['basis']}; random labels or images taken as {pr['random_over_true']:g}x the true-label time: "
          f"Table 1 ({pr['table1_runs']} runs) about {pr['table1_gpu_hours']:.2f} GPU-hours, Figure 1 ({pr['figure1_runs']} runs) "
          f"about {pr['figure1_gpu_hours']:.2f} GPU-hours, one seed each, on this GPU.", ""]
    return '\n'.join(L)

def main(argv=None)->dict:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--data', help='CIFAR-10 archive or folder (default: synthetic tensors of its shape)')
    ap.add_argument('--out', default='nbs/bench_results', help='folder for gpu.json and gpu.md')
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--tiny', action='store_true', help='tiny sizes, for a CPU test')
    ap.add_argument('--steps', type=int, default=300, help='steps of the precision check')
    ap.add_argument('--full-seconds', type=float, default=200., help='budget of the full-scale run')
    ap.add_argument('--skip', default='', help="parts to skip: 'precision', 'bench', 'stack', 'full' (comma-separated)")
    a = ap.parse_args(argv)
    if a.device.startswith('cuda') and not torch.cuda.is_available(): ap.error('no CUDA GPU here: use --device cpu --tiny')
    skip = set(filter(None, a.skip.split(',')))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False # fp32 is fp32
    res = dict(created=time.strftime('%Y-%m-%d %H:%M:%S'), device=a.device, tiny=a.tiny, data=a.data, torch=torch.__version__,
               gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None, load_start=_load())
    t0 = time.perf_counter()
    print(f"gpu check on {a.device}{' (tiny)' if a.tiny else ''}; load {res['load_start']}", flush=True)
    steps = 4 if a.tiny else a.steps
    res['precision'] = {} if 'precision' in skip else precision_check(_dataset(a.data, 64 if a.tiny else None, 32 if a.tiny else 1000), a.device, steps, 16 if a.tiny else 128)
    with tempfile.TemporaryDirectory() as tmp:
        res['bench'] = [] if 'bench' in skip else bench_check(a.data, a.device, a.tiny, Path(tmp))
    if 'stack' not in skip:
        res['stack'] = stack_check(_dataset(a.data, 64 if a.tiny else 4096, 32 if a.tiny else 1000), a.device, 2 if a.tiny else 8,
                                   3 if a.tiny else 100, 16 if a.tiny else 128)
    if 'full' not in skip:
        res['full'] = full_check(_dataset(a.data, 64 if a.tiny else None, 32 if a.tiny else None), a.device, 3. if a.tiny else a.full_seconds, 16 if a.tiny else 128)
        res['projection'] = projection(res['full'])
    res.update(load_end=_load(), seconds=time.perf_counter()-t0)
    (out/'gpu.json').write_text(json.dumps(res, indent=1))
    if not skip: (out/'gpu.md').write_text(markdown(res))
    print(f"wrote {out/'gpu.json'} in {res['seconds']:.0f} s", flush=True)
    return res

if __name__=='__main__': main()
