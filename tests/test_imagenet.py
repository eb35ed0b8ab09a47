"Table 2 end to end on the CPU: a synthetic ILSVRC-2012 folder, streamed, through the sweep and the store."
import os, sqlite3
from pathlib import Path
import numpy as np, pytest
from PIL import Image

def write_ilsvrc(path, n_classes=3, n_train=4, n_val=2, seed=0):
    "ILSVRC-2012 layout: train/<wnid>/<wnid>_<j>.JPEG and val/<wnid>/ILSVRC2012_val_<n>.JPEG, assorted sizes"
    rng = np.random.default_rng(seed)
    for split, n in (('train', n_train), ('val', n_val)):
        for k in range(n_classes):
            w = f'n{1440764+k:08d}'; d = Path(path)/split/w; d.mkdir(parents=True, exist_ok=True)
            for j in range(n):
                h, wd = rng.integers(40, 90, 2)
                a = (rng.integers(0, 60, (h, wd, 3)) + np.array([200, 40, 40])[np.roll([0,1,2], k)]).clip(0, 255).astype(np.uint8)
                Image.fromarray(a).save(d/(f'{w}_{j}.JPEG' if split=='train' else f'ILSVRC2012_val_{k*n+j+1:08d}.JPEG'))
    return Path(path)

def test_table2_end_to_end(tmp_path, capsys):
    import torch
    from rethink_fastai.sweep import sweep, data_identity
    from rethink_fastai.imagenet import imagenet_index, PAPER_TABLE2
    torch.set_num_threads(1)   # one thread: on a shared 2-core machine, two OpenMP threads spin and run 4-10x slower
    root = write_ilsvrc(tmp_path/'ILSVRC2012')
    store = tmp_path/'runs.sqlite'
    kw = dict(dataset='imagenet', data=str(root), epochs=1, device='cpu', train_kwargs=dict(size=80, bs=4, eval_bs=8))
    df = sweep('table2', store, **kw)
    assert len(df) == len(PAPER_TABLE2) == 7 and set(df.status) == {'finished'}
    ident = imagenet_index(root).identity                      # the listing's identity: no image decoded to key a run
    assert data_identity('imagenet', str(root)) == ident and set(df.data_identity) == {ident}
    for _, r in df.iterrows():
        assert r.arch == 'inception_v3' and r.dataset == 'imagenet' and r.n_train == 12 and r.n_test == 6 and r.n_classes == 3
        for k in ('train_acc', 'test_acc', 'train_top5', 'test_top5'): assert 0 <= r[k] <= 1, k
        assert r.train_top5 == 1 and r.test_top5 == 1        # 3 classes: the top 5 hold them all
        assert r.epochs == 1 and r.steps == 3
    want = {(lab, aug, drop, wd) for lab, aug, drop, wd, *_ in PAPER_TABLE2}
    got = {(r.randomization, r.augment == 'crop,flip', r.dropout > 0, r.wd > 0) for _, r in df.iterrows()}
    assert got == want
    rnd = df[df.randomization == 'random_labels']
    assert (rnd.realized_corruption > 0).all()
    with sqlite3.connect(store) as c:
        h = c.execute("SELECT count(*) FROM history h JOIN runs r ON r.key=h.key WHERE json_extract(h.metrics, '$.test_top5') IS NOT NULL").fetchone()[0]
    assert h == 7                                              # epoch 1 of every run: no test pass before training (as `test_distributed`)
    with sqlite3.connect(store) as c:
        h0 = c.execute("SELECT count(*) FROM history WHERE epoch=0 AND json_extract(metrics, '$.train_top5') IS NOT NULL").fetchone()[0]
    assert h0 == 7                                             # epoch 0: the train-set pass, with top-5
    capsys.readouterr()
    sweep('table2', store, **kw)                               # resume: nothing left to do
    assert '0 run(s) trained' in capsys.readouterr().out
    # the report: ours beside the paper's, one row per row of Table 2, with our top-1/top-5 figures filled in
    from rethink_fastai.report import report
    rep = report('table2', store, tmp_path/'report', dataset='imagenet')
    rows = [l for l in Path(rep['table']).read_text().splitlines() if l.startswith('| true labels') or l.startswith('| random labels')]
    assert len(rows) >= 7 and rep['n_runs'] == 7
    for l in rows[:7]:
        cells = [c.strip() for c in l.strip('|').split('|')]
        assert len(cells) == 12 and cells[5] == '100.00' and '-' not in cells[4:8], l    # top-5 train: 3 classes

def test_rethink_run_imagenet(tmp_path, capsys):
    "`rethink run --dataset imagenet` trains through the plugin's run function, streaming the folder, with top-5"
    import json, torch
    from rethink_fastai.cli import rethink
    torch.set_num_threads(1)
    root = write_ilsvrc(tmp_path/'ILSVRC2012')
    rc = rethink(['run', '--dataset', 'imagenet', '--data', str(root), '--arch', 'resnet18', '--randomization', 'random_labels',
                  '--epochs', '1', '--no-until-fit', '--bs', '4', '--device', 'cpu', '--quiet', '--out', str(tmp_path/'run')])
    assert rc == 0, capsys.readouterr()
    r = json.loads((tmp_path/'run'/'result.json').read_text())
    assert r['dataset'] == 'imagenet' and r['arch'] == 'resnet18' and r['n_train'] == 12 and r['steps'] == 3
    assert r['train_top5'] == 1 and r['realized_corruption'] > 0
