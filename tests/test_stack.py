"Stacked runs: each member trains as its separate run would (every paper architecture), per-member early stopping, and a killed stacked sweep resumes."
import json, os, shutil, signal, sqlite3, subprocess, sys, textwrap, time
from pathlib import Path
import pytest, torch
from fastai.callback.core import Callback
from rethink_fastai.learner import run_experiment
from rethink_fastai.stack import stack_runs, stack_group

RUNS = [dict(seed=0), dict(seed=1, randomization='random_labels'), dict(seed=2, randomization='partial_labels', corruption=0.4)]

def rel_dev(a, b)->float:
    "Largest relative difference between two per-step loss curves"
    a, b = torch.tensor(a), torch.tensor(b)
    assert len(a)==len(b)
    return ((a-b).abs()/b.abs()).max().item()

def step_losses(records)->list: return [r['steps_log']['loss'] for r in records]

def separate(arch, runs, **kw): return [run_experiment(arch=arch, quiet=True, **r, **kw) for r in runs]

def stacked(arch, runs, mode='loop', **kw)->list:
    recs = dict(stack_runs([dict(arch=arch, **r, **kw) for r in runs], mode=mode))
    return [recs[i] for i in range(len(runs))]

@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1); yield; torch.set_num_threads(n)

class Perturb(Callback):
    "Change every initial weight by a relative `rel` (random) before training"
    def __init__(self, rel): self.rel = rel
    def before_fit(self):
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for p in self.model.parameters(): p.mul_(1 + self.rel*torch.randn(p.shape, generator=g))

def perturbed(arch, run, rel=1e-6, **kw)->dict:
    "The separate run with every initial weight changed by a relative `rel`: the float rounding stacking brings"
    return run_experiment(arch=arch, quiet=True, **run, **kw, cbs=[Perturb(rel)])

def noise_floor(arch, runs, sep, **kw)->float:
    "How far a separate run drifts when its start is perturbed by 1e-6 relative, as large as stacking's rounding (`stack_error`)"
    return max(rel_dev(a, b) for a, b in zip(step_losses([perturbed(arch, r, **kw) for r in runs]), step_losses(sep)))

# the MLPs as in the issue (3 runs, 50 steps, batch 128); the convnets smaller, to keep the test short
CASES = [('mlp1x512', 3, 50, 128), ('mlp3x512', 3, 50, 128), ('alexnet_small', 2, 20, 64),
         ('inception_small', 2, 8, 32), ('inception_small_nobn', 2, 8, 32)]

@pytest.mark.parametrize('arch,k,steps,bs', CASES)
def test_looped_stack_is_its_separate_runs(arch, k, steps, bs):
    """A looped stack (the default mode) trains each member exactly as its separate run: the per-step training losses
    are equal, not close, for every paper architecture, BatchNorm included (the issue asks 1e-4 relative)"""
    runs, kw = RUNS[:k], dict(steps=steps, until_fit=False, bs=bs)
    sep, stk = separate(arch, runs, **kw), stacked(arch, runs, **kw)
    for a, b in zip(step_losses(stk), step_losses(sep)): assert len(a)==steps and a==b
    for a, b in zip(stk, sep):
        assert set(a)-set(b) == {'stack'} and a['stopped_because']==b['stopped_because']=='steps' and a['stack']['mode']=='loop'
        assert (a['steps'], a['epochs'], a['channels_last']) == (b['steps'], b['epochs'], b['channels_last'])

@pytest.mark.parametrize('arch,k,steps,bs', CASES)
def test_vmap_stack_reproduces_separate_losses(arch, k, steps, bs):
    """A vmap stack's per-step training losses are its members' separate runs': equal to 1e-6 at the first step (same
    initialization and batch), and within 1e-4 relative at every step (mlp1x512), or, where training itself amplifies
    float rounding (mlp3x512 and the convnets on 8x8 digits at the paper's rates), within 10x of how far the separate
    run drifts from a 1e-6 relative change of its start"""
    runs, kw = RUNS[:k], dict(steps=steps, until_fit=False, bs=bs)
    sep, stk = separate(arch, runs, channels_last=False, **kw), stacked(arch, runs, mode='vmap', **kw)
    tol = 1e-4 if arch=='mlp1x512' else max(1e-4, 10*noise_floor(arch, runs, sep, channels_last=False, **kw)) # the MLP: 1e-4 outright
    for a, b in zip(step_losses(stk), step_losses(sep)):
        assert len(a)==steps and rel_dev(a[:1], b[:1]) < 1e-6
        assert rel_dev(a, b) <= tol, (rel_dev(a, b), tol)
    for a, b in zip(stk, sep):
        assert set(a)-set(b) == {'stack'} and a['stopped_because']==b['stopped_because']=='steps' and a['stack']['mode']=='vmap'
        assert (a['steps'], a['epochs']) == (b['steps'], b['epochs'])

def test_early_stopping_per_member():
    "Each member stops on its own test accuracy, at the epoch its separate run stops, the others' learning rate still decaying"
    kw = dict(epochs=40, early_stopping=2, lr=0.001, decay_every=6)
    sep, stk = separate('mlp1x512', RUNS, **kw), stacked('mlp1x512', RUNS, **kw)
    for a, b in zip(stk, sep):
        assert (a['stopped_because'], a['epochs'], a['epochs_to_fit']) == (b['stopped_because'], b['epochs'], b['epochs_to_fit'])
        assert a['test_acc'] == pytest.approx(b['test_acc'], abs=1e-6)
    assert any(r['stopped_because']=='early_stopping' for r in sep)

def test_unstackable_runs_refused():
    "Runs that differ in more than seeds and labels share no stack; runs with a plugin option, a tracker, `out` train alone"
    with pytest.raises(ValueError, match='cannot share a stack'):
        list(stack_runs([dict(arch='mlp1x512', wd=0.), dict(arch='mlp1x512', wd=5e-4)]))
    base = dict(arch='mlp1x512', epochs=3)
    assert stack_group(base) == stack_group(dict(base, seed=4, randomization='partial_labels', corruption=0.2)) != stack_group(dict(base, lr=0.1))
    for alone in (dict(scores=True), dict(measures=True), dict(tracker='csv'), dict(out='x'), dict(channels_last=True)):
        assert stack_group(dict(base, **alone)) is None, alone

SWEEP = textwrap.dedent("""
    import sys, torch; torch.set_num_threads(1)
    import rethink_fastai.stack
    from rethink_fastai.sweep import sweep
    sweep('fig1b', sys.argv[1], executor='stack', executor_kwargs=dict(k=3), dataset='digits', epochs=int(sys.argv[2]),
          spec_kwargs=dict(archs=('mlp1x512',)))
""")
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')

def finished(store):
    try:
        with sqlite3.connect(store, timeout=30) as c:
            return dict(c.execute("SELECT key, finished FROM runs WHERE status='finished'").fetchall())
    except sqlite3.OperationalError: return {}

def test_killed_stacked_sweep_resumes(tmp_path):
    "Kill a stacked sweep after its first stack has recorded its members: the rerun trains only the rest"
    store, script = tmp_path/'runs.sqlite', tmp_path/'sweep.py'
    script.write_text(SWEEP)
    p = subprocess.Popen([sys.executable, script, store, '30'], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while len(finished(store)) < 3 and p.poll() is None and time.time()-t0 < 300: time.sleep(0.2)
    assert p.poll() is None, "the sweep ended before it could be killed midway: " + p.stderr.read()[-2000:]
    p.send_signal(signal.SIGKILL); p.wait()
    before = finished(store)
    assert 3 <= len(before) < 6
    out = subprocess.run([sys.executable, script, store, '30'], env=ENV, capture_output=True, text=True, timeout=600)
    after = finished(store)
    assert len(after) == 6, out.stderr[-2000:]
    for k, t in before.items(): assert after[k] == t # finished members were not trained again
    assert f"{6-len(before)} run(s) trained" in out.stdout

def rethink(*args):
    exe = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV)

def test_cli_stack(tmp_path):
    "`rethink sweep ... --stack 3` trains in stacks and records the keys the same sweep records without it; --stack refuses --jobs"
    args = ('sweep', 'fig1b', '--dataset', 'digits', '--archs', 'mlp1x512', '--epochs', '3', '--quiet')
    stores = [tmp_path/'separate.sqlite', tmp_path/'stacked.sqlite']
    for st, more in zip(stores, ((), ('--stack', '3'))):
        r = rethink(*args, '--store', st, *more); assert r.returncode == 0, r.stderr[-2000:]
    rows = []
    for st in stores:
        with sqlite3.connect(st) as c: rows.append(dict(c.execute("SELECT key, status FROM runs").fetchall()))
    assert len(rows[0]) == 6 and rows[0] == rows[1] and set(rows[0].values()) == {'finished'}
    with sqlite3.connect(stores[1]) as c: recs = [json.loads(r) for r, in c.execute("SELECT record FROM runs")]
    assert sorted(r['stack']['index'] for r in recs) == [0, 0, 1, 1, 2, 2] and {r['stack']['k'] for r in recs} == {3} # two stacks of 3
    assert {r['stack']['mode'] for r in recs} <= {'loop', 'vmap'} # --stack-mode auto: the faster, measured
    r = rethink(*args, '--store', stores[1], '--stack', '3', '--jobs', '2')
    assert r.returncode == 1 and '--stack' in r.stderr
    looped = tmp_path/'looped.sqlite'
    r = rethink(*args, '--store', looped, '--stack', '3', '--stack-mode', 'loop'); assert r.returncode == 0, r.stderr[-2000:]
    with sqlite3.connect(looped) as c: lrecs = {k: json.loads(r) for k, r in c.execute("SELECT key, record FROM runs")}
    with sqlite3.connect(stores[0]) as c: srecs = {k: json.loads(r) for k, r in c.execute("SELECT key, record FROM runs")}
    assert set(lrecs) == set(srecs) and {r['stack']['mode'] for r in lrecs.values()} == {'loop'}
    for k in srecs: assert (lrecs[k]['train_loss'], lrecs[k]['train_acc']) == (srecs[k]['train_loss'], srecs[k]['train_acc']) # exactly the separate runs
    for bad in (('--stack-mode', 'grouped', '--stack', '3'), ('--stack-mode', 'loop')):
        r = rethink(*args, '--store', tmp_path/'bad.sqlite', *bad); assert r.returncode != 0 and '--stack-mode' in r.stderr
    for bad in (('--stack-max', '2'), ('--stack', '3', '--stack-max', '2'), ('--stack', 'auto', '--stack-max', '0')):
        r = rethink(*args, '--store', tmp_path/'bad.sqlite', *bad); assert r.returncode != 0 and '--stack-max' in r.stderr

def test_auto_schedule_fit_as_separate():
    """Under the default 'auto' evaluation schedule a stack evaluates only when a member nears its fit or the budget affords
    a pass: each member's fit epoch, steps and test accuracy at the fit are its separate run's, its evaluation time is counted"""
    runs = [dict(seed=s) for s in (0, 1, 2)]
    kw = dict(epochs=150, eval_budget=0.) # no optional pass (digits' passes are cheap enough to afford most epochs)
    sep, stk = separate('mlp1x512', runs, **kw), stacked('mlp1x512', runs, **kw)
    for a, b in zip(stk, sep):
        assert a['stopped_because'] == b['stopped_because'] == 'fitted'
        assert (a['epochs_to_fit'], a['steps_to_fit']) == (b['epochs_to_fit'], b['steps_to_fit'])
        assert a['test_acc'] == pytest.approx(b['test_acc'], abs=1e-6) and a['train_acc'] == b['train_acc'] == 1
        assert a['eval_seconds'] > 0 and a['train_seconds'] < a['seconds']
        passes = [h['epoch'] for h in a['history'] if h['train_acc'] is not None]
        assert passes[0] == 0 and passes[-1] == a['epochs_to_fit'] and len(passes) < len(a['history']) # not every epoch
