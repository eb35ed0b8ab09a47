"The `rethink` command line, run as a user runs it: the installed console script, in a subprocess."
import json, shutil, sqlite3, subprocess, sys
from pathlib import Path
import pytest

def rethink(*args, **kw):
    exe = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=600, **kw)

def test_help_lists_subcommands():
    r = rethink('--help')
    assert r.returncode == 0
    assert 'data' in r.stdout and 'commands:' in r.stdout

def test_data_on_digits(tmp_path):
    r = rethink('data', '--dataset', 'digits', '--out', tmp_path)
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path/'data.json').read_text())
    assert [o['randomization'] for o in rows] == ['true_labels', 'partial_labels', 'random_labels',
                                                   'shuffled_pixels', 'random_pixels', 'gaussian']
    for o in rows: assert Path(o['grid']).stat().st_size > 1000
    assert 0.25 < rows[1]['realized_corruption'] < 0.45       # p=0.4: about 0.36 change

@pytest.mark.parametrize('args,msg', [
    (('--randomization', 'shuffled'), "unknown randomization 'shuffled'"),
    (('--randomization', 'partial_labels', '--corruption', '1.5'), 'corruption must be in [0, 1]'),
    (('--dataset', 'imagenet21k'), "unknown dataset 'imagenet21k'"),
    (('--dataset', 'cifar10', '--data', '/no/such/folder'), 'no such file or folder'),
])
def test_bad_input_gets_a_clear_error(tmp_path, args, msg):
    r = rethink('data', *args, '--out', tmp_path)
    assert r.returncode == 1 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_folder_in_wrong_layout(tmp_path):
    (tmp_path/'imgs'/'train'/'a').mkdir(parents=True)
    r = rethink('data', '--dataset', tmp_path/'imgs', '--out', tmp_path/'o')
    assert r.returncode == 1 and 'no test folder' in r.stderr, r.stderr

def one_line_error(stderr:str, msg:str)->bool:
    "`stderr` has one error line, `rethink CMD: error: ...` holding `msg`, and no traceback (imports may print warnings)"
    errs = [l for l in stderr.splitlines() if l.startswith('rethink ') and ': error: ' in l]
    return len(errs) == 1 and msg in errs[0] and 'Traceback' not in stderr

def test_version():
    import rethink_fastai
    r = rethink('--version')
    assert r.returncode == 0 and r.stdout.strip() == f'rethink_fastai {rethink_fastai.__version__}'

def test_every_setting_is_a_flag_of_run_and_sweep():
    from rethink_fastai.learner import RunConfig
    run, sweep = rethink('run', '--help').stdout, rethink('sweep', '--help').stdout
    for n in RunConfig.names():
        assert '--'+n.replace('_', '-') in run, n
        assert n == 'seed' or '--'+n.replace('_', '-') in sweep, n       # sweep has --seeds
    for flag in ('--arch ARCH', '--lr FLOAT', '--epochs INT', '--data PATH', '--tracker TRACKER', '--decay-every auto|epoch|INT'):
        assert flag in run, flag
    assert '(str)' not in run and '(int)' not in run

@pytest.mark.parametrize('args,msg', [
    (('--epochs', '0'), 'epochs must be a positive integer, got 0'),
    (('--bs', '0'), 'bs must be a positive integer, got 0'),
    (('--lr', 'nan'), 'lr must be positive and finite, got nan'),
    (('--lr', 'inf'), 'lr must be positive and finite, got inf'),
    (('--corruption', '-0.1'), 'corruption must be in [0, 1]'),
    (('--dropout', '1'), 'dropout must be in [0, 1)'),
    (('--wd', '-1'), 'wd must be finite and at least 0'),
    (('--decay-every', 'weekly'), "decay_every must be 'auto' or 'epoch'"),
    (('--tracker', 'mlflow'), "unknown tracker 'mlflow'"),
])
def test_bad_run_settings_get_a_one_line_error(tmp_path, args, msg):
    r = rethink('run', '--dataset', 'digits', *args, '--out', tmp_path/'o')
    assert r.returncode == 1 and one_line_error(r.stderr, msg), r.stderr

def test_a_device_that_is_not_here(tmp_path):
    import torch
    n = torch.cuda.device_count()
    r = rethink('run', '--dataset', 'digits', '--device', f'cuda:{n}', '--out', tmp_path/'o')
    assert r.returncode == 1 and f'this machine has {n} CUDA GPU(s)' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_an_output_that_is_a_file(tmp_path):
    (tmp_path/'f').write_text('')
    r = rethink('run', '--dataset', 'digits', '--epochs', '1', '--out', tmp_path/'f')
    assert r.returncode == 1 and 'is a file, not a folder' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_sweep_list_prints_the_runs_without_training(tmp_path):
    r = rethink('sweep', 'fig1b', '--list', '--dataset', 'digits', '--archs', 'mlp1x512', '--epochs', '5', '--lr', '0.1',
                '--seeds', '0', '1', '--store', tmp_path/'s.sqlite')
    assert r.returncode == 0, r.stderr
    runs = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(runs) == 12 and {(o['dataset'], o['epochs'], o['lr']) for o in runs} == {('digits', 5, 0.1)}
    assert sorted({o.get('corruption') for o in runs}, key=str) == sorted({None, 0.2, 0.4, 0.6, 0.8}, key=str)
    assert not (tmp_path/'s.sqlite').exists()                               # nothing trained, no store

SWEEP = '''name = "tiny_grid"
doc = "Weight decay on and off, true and random labels"
[base]
dataset = "digits"
arch = "mlp1x64"
epochs = 2
until_fit = false
device = "cpu"
[grid]
randomization = ["true_labels", "random_labels"]
wd = [0.0, 5e-4]
'''

def test_sweep_file_is_stored_and_reported(tmp_path):
    f = tmp_path/'my_sweep.toml'; f.write_text(SWEEP)
    store = tmp_path/'runs.sqlite'
    r = rethink('sweep', '--config', f, '--store', store)
    assert r.returncode == 0, r.stderr[-3000:]
    con = sqlite3.connect(store)
    cfgs = [json.loads(c) for c, in con.execute("SELECT config FROM runs WHERE status='finished'")]
    assert sorted((c['randomization'], c.get('wd', 0.)) for c in cfgs) == [('random_labels', 0.), ('random_labels', 5e-4), ('true_labels', 0.), ('true_labels', 5e-4)]
    assert {c['arch'] for c in cfgs} == {'mlp1x64'}
    assert 'trained' in r.stdout
    r2 = rethink('sweep', '--config', f, '--store', store)                  # done: nothing to train again
    assert r2.returncode == 0 and '0 run(s) trained' in r2.stdout, r2.stdout
    rep = rethink('report', '--config', f, '--store', store, '--out', tmp_path/'rep')
    assert rep.returncode == 0, rep.stderr[-3000:]
    assert json.loads(rep.stdout)['n_runs'] == 4 and (tmp_path/'rep'/'tiny_grid.md').exists()

@pytest.mark.parametrize('text,msg', [
    ('[grid]\nlearning_rate = [0.1]\n', "unknown run setting 'learning_rate'"),
    ('[base]\nepochs = 0\n', 'epochs must be a positive integer, got 0'),
    ('[grid]\nrandomization = ["shuffled"]\n', "unknown randomization 'shuffled'"),
    ('runs = 3\n', "unknown key 'runs'"),
])
def test_bad_sweep_file_gets_a_one_line_error(tmp_path, text, msg):
    f = tmp_path/'bad.toml'; f.write_text(text)
    r = rethink('sweep', '--config', f, '--store', tmp_path/'s.sqlite')
    assert r.returncode == 1 and one_line_error(r.stderr, msg) and str(f) in r.stderr, r.stderr

def test_keep_heap_reaches_the_run(tmp_path):
    "`rethink run` keeps the C heap by default; `--no-keep-heap` is a run setting that reaches the learner and its record"
    for flags, kept in (((), True), (('--no-keep-heap',), False)):
        r = rethink('run', '--dataset', 'digits', '--epochs', '1', '--quiet', *flags, '--out', tmp_path/str(kept))
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        assert json.loads((tmp_path/str(kept)/'result.json').read_text())['config']['keep_heap'] is kept
