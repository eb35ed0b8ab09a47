"The `rethink` command line, run as a user runs it: the installed console script, in a subprocess."
import json, shutil, subprocess, sys
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
