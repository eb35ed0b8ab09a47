"Data-parallel training on the CPU: two processes over gloo, launched by `accelerate launch`, against one process."
import json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest, torch

pytest.importorskip('accelerate')

# one run's settings: 1,437 digits, global batches of 128 keeping the short last one (29 = 14 + 15), 40 steps
RUN = dict(dataset='digits', randomization='partial_labels', corruption=0.4, arch='mlp1x512', bs=128, lr=0.05,
           steps=40, until_fit=False, seed=3, drop_last=False, eval_bs=256)

SCRIPT = textwrap.dedent('''
    import json, sys, torch
    from fastai.callback.core import Callback
    from rethink_fastai.distributed import run_distributed, world
    class SaveWeights(Callback):
        "rank 0 saves the weights after training"
        def __init__(self, fn): self.fn = fn
        def after_fit(self):
            if world()[0]==0: torch.save(getattr(self.model, 'module', self.model).state_dict(), self.fn)
    out, run = sys.argv[1], json.loads(sys.argv[2])
    r = run_distributed(device='cpu', out=out, quiet=True, threads=1, cbs=[SaveWeights(out+'/weights.pth')], **run)
    sys.stdout.write(f"rank {world()[0]} of {world()[1]} steps {r['steps']}\\n"); sys.stdout.flush() # one write: the two ranks share stdout
''')

def test_two_processes_match_one(tmp_path):
    from rethink_fastai.distributed import launch_cmd
    script = tmp_path/'train.py'; script.write_text(SCRIPT)
    out = tmp_path/'two'; out.mkdir()
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    p = subprocess.run(launch_cmd([script, out, json.dumps(RUN)], 2, cpu=True), env=env, capture_output=True, text=True, timeout=400)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert 'rank 0 of 2' in p.stdout and 'rank 1 of 2' in p.stdout, p.stdout[-2000:]
    two = json.loads((out/'result.json').read_text())
    ck = torch.load(out/'checkpoint.pth', weights_only=True)    # the model's own weights: resumable in one process too
    assert ck['epoch'] == two['epochs'] and not any(k.startswith('module.') for k in ck['model'])
    w2 = torch.load(out/'weights.pth')
    assert sorted(os.listdir(out)) == ['checkpoint.pth', 'result.json', 'weights.pth']   # rank 0 alone wrote, once

    # the same run in one process, through the kit's plain `run_experiment`
    from fastai.callback.core import Callback
    from rethink_fastai.learner import run_experiment
    saved = {}
    class Keep(Callback):
        def after_fit(self): saved.update({k: v.clone() for k,v in self.model.state_dict().items()})
    torch.set_num_threads(1)
    # run_distributed's 'exp' decays per epoch (it knows no RunConfig: `plugin_run_kwargs` maps `decay_every` for it)
    one = run_experiment(device='cpu', quiet=True, cbs=[Keep()], decay_every='epoch', eval_schedule='every', **RUN) # the distributed recorder evaluates every epoch

    assert two['processes'] == 2 and two['steps'] == one['steps'] == 40
    for k, v in saved.items(): torch.testing.assert_close(w2[k], v, rtol=1e-4, atol=1e-5)
    assert len(two['history']) == len(one['history']) == 5       # epoch 0 (untrained), 3 epochs of 12 steps, 4 steps
    for h2, h1 in zip(two['history'], one['history']):
        assert h2['epoch'] == h1['epoch'] and h2['step'] == h1['step']
        for k in ('train_loss', 'train_acc', 'test_loss', 'test_acc', 'batch_loss', 'batch_acc', 'train_acc_clean',
                  'train_acc_corrupted', 'corrupted_predict_clean', 'fitted_clean', 'fitted_corrupted'):
            if h1['epoch']==0 and k.startswith('test'): continue # epoch 0 (untrained): the distributed recorder passes the training set only
            if h1[k] is None: assert h2[k] is None, k
            else: assert h2[k] == pytest.approx(h1[k], rel=1e-4, abs=1e-5), (h1['epoch'], k)
    torch.testing.assert_close(torch.tensor(two['steps_log']['loss']), torch.tensor(one['steps_log']['loss']), rtol=1e-4, atol=1e-5)
    m2, m1 = two['memorization'], one['memorization']
    assert m2['corrupted_idx'] == m1['corrupted_idx'] and m2['first_fit_epoch'] == m1['first_fit_epoch']
    for k in ('identity', 'realized_corruption', 'n_train', 'bs', 'stopped_because'): assert two[k] == one[k], k
    for k in ('train_acc', 'test_acc', 'train_loss', 'test_loss'): assert two[k] == pytest.approx(one[k], rel=1e-4), k

def test_rethink_run_gpus(tmp_path):
    "`rethink run --gpus 2 --device cpu` relaunches itself in two gloo processes; rank 0 alone writes and prints"
    import shutil
    exe = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
    args = ['run', '--dataset', 'digits', '--randomization', 'random_labels', '--epochs', '2', '--no-until-fit', '--seed', '1',
            '--lr', '0.05', '--device', 'cpu', '--quiet']
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    runs = {}
    for name, extra in (('two', ['--gpus', '2']), ('one', [])):
        p = subprocess.run([exe, *args, '--out', str(tmp_path/name), *extra], env=env, capture_output=True, text=True, timeout=400)
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
        assert p.stdout.count('record: ') == 1, p.stdout[-3000:]
        runs[name] = json.loads((tmp_path/name/'result.json').read_text())
    two, one = runs['two'], runs['one']
    assert two['processes'] == 2 and 'processes' not in one
    assert two['epochs'] == one['epochs'] == 2 and two['steps'] == one['steps'] and two['identity'] == one['identity']
    for k in ('train_acc', 'test_acc', 'train_loss', 'test_loss'): assert two[k] == pytest.approx(one[k], rel=1e-4), k
