"The README's main command, `rethink demo`, end to end on the embedded digits: the paper's effects must show."
import json, shutil, subprocess, sys, sqlite3
from pathlib import Path
import pandas as pd

def test_demo_on_digits(tmp_path):
    exe = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
    r = subprocess.run([exe, 'demo', '--out', str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ('figure1.png', 'fig1a.png', 'fig1b.png', 'fig1c.png', 'runs.sqlite'):
        assert (tmp_path/f).stat().st_size > 1000, f
    # the table: a title, a header, a rule, then one row per distinct run (5 of Figure 1a; p=0.2..0.8 of 1b)
    rows = [l for l in (tmp_path/'demo.md').read_text().splitlines() if l.startswith('| ')][2:]
    assert [r.split(' | ')[0] for r in rows] == ['| labels, p=0', '| labels, p=1', '| shuffled pixels', '| random pixels', '| gaussian',
                                              '| labels, p=0.2', '| labels, p=0.4', '| labels, p=0.6', '| labels, p=0.8'], rows
    from rethink_fastai.report import spec_results
    from rethink_fastai.learner import relative_convergence
    a = spec_results('fig1a', tmp_path/'runs.sqlite', dict(archs=('mlp1x512',)))
    bc = relative_convergence(spec_results('fig1b', tmp_path/'runs.sqlite', dict(archs=('mlp1x512',))))
    bc['p'] = bc.corruption.fillna(0.)
    assert len(a) == 5 and len(bc) == 6
    # every randomization is fitted perfectly ...
    assert (a.train_acc == 1).all() and (bc.train_acc == 1).all(), a[['randomization','train_acc']]
    # ... true labels generalize, random labels and noise images test near chance (10 classes) ...
    by = a.set_index('randomization')
    assert by.loc['true_labels', 'test_acc'] > 0.9
    for rnd in ('random_labels', 'random_pixels', 'gaussian'): assert by.loc[rnd, 'test_acc'] < 0.25, rnd
    # ... fitting slows as corruption grows, and test error climbs toward chance
    bc = bc.sort_values('p')
    assert bc.relative_steps.iloc[-1] > 2 and bc.relative_steps.iloc[1:].min() > 1
    err = (1 - bc.test_acc).tolist()
    assert err == sorted(err) and err[-1] > 0.8, err
