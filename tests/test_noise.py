"""Across modules: label noises in a trained run's data and record, and the Feldman & Zhang runs through the sweep."""
import numpy as np, pytest, torch
from rethink_fastai.data import get_dataset
from rethink_fastai.randomize import randomize
from rethink_fastai.loaders import randomized_block
from rethink_fastai.learner import rethink_learner
from rethink_fastai.noise import fz_run, fz_scores, fz_memorization, _unbits
from rethink_fastai.experiments import SPECS

@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch): monkeypatch.setenv('RETHINK_CACHE', str(tmp_path/'cache'))

def test_class_flip_run_keeps_mask_and_transition():
    "A learner on class-flipped digits: the recorder sees the flipped labels as corrupted, the data describes the flips"
    rd = randomize(get_dataset('digits'), 'class_flip_labels', 0.5, seed=0, pairs={'1':'7', '7':'1'})
    dls = randomized_block(rd).dataloaders(None, bs=128); dls.data = rd
    learn = rethink_learner(dls=dls, arch='mlp1x32')
    r = learn.fit_memorize(epochs=1, quiet=True)
    assert r['realized_corruption'] == pytest.approx(rd.mask.float().mean().item())
    rec = rd.to_record()
    T, R = np.array(rec['transition']), np.array(rec['realized_transition'])
    assert T[1,7] == T[7,1] == 0.5 and (R[[0,2,3,4,5,6,8,9]] == np.eye(10)[[0,2,3,4,5,6,8,9]]).all()
    assert rec['label_noise']['n_changed'] == int(rd.mask.sum()) > 0

def test_fz_run_record():
    "Two models of a memorization estimate: the same noisy labels, different 70% subsets, a score per example"
    rs = [fz_run('digits', corruption=0.2, seed=s, arch='mlp1x32', epochs=2, quiet=True, lr=0.05, schedule='constant') for s in (0, 1)]
    fz = [r['fz'] for r in rs]
    assert fz[0]['corrupted'] == fz[1]['corrupted'] and fz[0]['in_train'] != fz[1]['in_train']
    for f,r in zip(fz, rs):
        a = _unbits(f['in_train'])
        assert len(a) == f['n'] == 1437 and a.sum() == round(0.7*1437) == r['n_train']
        assert len(f['test_correct']) == 360
    assert abs(_unbits(fz[0]['corrupted']).mean() - 0.2*0.9) < 4*(0.18*0.82/1437)**0.5
    s = fz_scores(rs)
    assert s.mem.dropna().between(-1, 1).all() and (s.n_in + s.n_out == 2).all()
    assert SPECS['fz_memorization'] is fz_memorization and fz_memorization.run_fn is fz_run
