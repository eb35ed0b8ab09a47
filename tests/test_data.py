"""The data layer on real files: tiny tar.gz and zip archives in fastai's layout, tiny IDX files and CIFAR's python
version are built here, so extraction, decoding and caching run on every CI run; the shared copies in
../shared/data are used when present. Also: two processes decoding one source at once, a corrupt cache file."""
import gzip, os, subprocess, sys, tarfile, threading, time, warnings, zipfile
from pathlib import Path
import numpy as np, pytest, torch
import rethink_fastai.data as rd
from rethink_fastai.data import (get_dataset, load_digits, save_image_folder, save_cifar_python, ImageArrays, cache_dir,
                                 file_digest)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent/'shared'/'data'
if not SHARED.exists(): SHARED = Path('/work/shared/data')   # a worktree sits two levels down

@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    "Every test gets an empty cache of its own"
    monkeypatch.setenv('RETHINK_CACHE', str(tmp_path/'cache'))
    return tmp_path/'cache'

@pytest.fixture(scope='module')
def small():
    "A 100-image digits subset (10 per class) and its whole test set"
    return load_digits().subset(100)

def write_idx(a:np.ndarray, fn:Path):
    "An IDX file (uint8), gzipped when `fn` ends in .gz"
    raw = bytes([0,0,8,a.ndim]) + np.array(a.shape, '>u4').tobytes() + a.astype(np.uint8).tobytes()
    (gzip.open if fn.suffix=='.gz' else open)(fn, 'wb').write(raw)

def idx_folder(ds, d:Path)->Path:
    d.mkdir(parents=True)
    write_idx(ds.x_train[:,0].numpy(), d/'train-images-idx3-ubyte.gz'); write_idx(ds.y_train.numpy(), d/'train-labels-idx1-ubyte.gz')
    write_idx(ds.x_test[:,0].numpy(), d/'t10k-images-idx3-ubyte'); write_idx(ds.y_test.numpy(), d/'t10k-labels-idx1-ubyte')
    return d

def tgz(src:Path, fn:Path)->Path:
    with tarfile.open(fn, 'w:gz') as t: t.add(src, src.name)
    return fn

def zipped(src:Path, fn:Path)->Path:
    with zipfile.ZipFile(fn, 'w') as z:
        for f in sorted(src.rglob('*')): z.write(f, f.relative_to(src.parent))
    return fn

def same(a:ImageArrays, b:ImageArrays, sort=False):
    "Equal pixels and labels (after sorting `b`'s reference by class when the folder sorted them)"
    o = b.y_train.argsort(stable=True) if sort else slice(None)
    ot = b.y_test.argsort(stable=True) if sort else slice(None)
    assert torch.equal(a.x_train, b.x_train[o]) and torch.equal(a.y_train, b.y_train[o])
    assert torch.equal(a.x_test, b.x_test[ot]) and torch.equal(a.y_test, b.y_test[ot])

@pytest.mark.parametrize('pack', [tgz, zipped])
def test_image_folder_archives(tmp_path, small, pack, cache):
    folder = save_image_folder(small, tmp_path/'digits_png')
    arc = pack(folder, tmp_path/('digits_png.tgz' if pack is tgz else 'digits_png.zip'))
    a = get_dataset(arc)
    same(a, small, sort=True)
    assert a.classes == small.classes and a.order is None        # a folder copy has no known order
    assert len(list(cache.glob('*.npz'))) == 1 and len(list((cache/'extracted').iterdir())) == 1
    b = get_dataset(arc)                                          # from the cache: nothing extracted again
    assert b.identity == a.identity and len(list((cache/'extracted').iterdir())) == 1

def test_idx_files_and_content_key(tmp_path, small, cache):
    d = idx_folder(small, tmp_path/'mnist')
    m = get_dataset('mnist', data=d)
    same(m, small); assert m.name == 'mnist'
    # the same size, other content: a key made of file sizes would serve the stale cache
    y = small.y_test.numpy().copy(); y[0] = (y[0]+1)%10
    size = os.path.getsize(d/'t10k-labels-idx1-ubyte')
    write_idx(y, d/'t10k-labels-idx1-ubyte')
    assert os.path.getsize(d/'t10k-labels-idx1-ubyte') == size
    m2 = get_dataset('mnist', data=d)
    assert m2.y_test.tolist() == y.tolist() and m2.identity != m.identity
    assert len(list(cache.glob('*.npz'))) == 2

def test_cifar_python_archives(tmp_path, cache):
    g = torch.Generator().manual_seed(0)
    ds = ImageArrays(torch.randint(0, 256, (60,3,32,32), dtype=torch.uint8, generator=g), torch.randperm(60, generator=g)%10,
                     torch.randint(0, 256, (20,3,32,32), dtype=torch.uint8, generator=g), torch.arange(20)%10,
                     [f'c{i}' for i in range(10)], 'x')
    c10 = get_dataset('cifar10', data=tgz(save_cifar_python(ds, tmp_path/'cifar-10-batches-py'), tmp_path/'cifar-10-python.tar.gz'))
    same(c10, ds); assert c10.order == 'cifar10' and c10.name == 'cifar10'
    coarse = np.arange(10)//2
    p = save_cifar_python(ds, tmp_path/'cifar-100-python', 'cifar100', coarse=coarse, coarse_names=[f's{i}' for i in range(5)])
    arc = tgz(p, tmp_path/'cifar-100-python.tar.gz')
    f, c = get_dataset('cifar100', data=arc), get_dataset('cifar100_coarse', data=arc)
    same(f, ds); assert (f.order, f.c, c.c, c.name) == ('cifar100', 10, 5, 'cifar100_coarse')
    assert c.y_train.tolist() == coarse[ds.y_train.numpy()].tolist()
    sub = f.subset(30, seed=1)                                    # a subset remembers where its images came from
    assert sub.order == 'cifar100' and torch.equal(sub.x_train, f.x_train[sub.index])

def test_truncated_archive(tmp_path, small):
    arc = tgz(save_image_folder(small, tmp_path/'digits_png'), tmp_path/'digits.tgz')
    cut = tmp_path/'cut.tgz'; cut.write_bytes(arc.read_bytes()[:len(arc.read_bytes())//2])
    with pytest.raises(ValueError, match=r'cut.tgz: cannot read the archive .*expected a complete \.tgz'): get_dataset(cut)
    zcut = tmp_path/'cut.zip'; zcut.write_bytes(zipped(tmp_path/'digits_png', tmp_path/'d.zip').read_bytes()[:3000])
    with pytest.raises(ValueError, match='cut.zip: cannot read the archive'): get_dataset(zcut)

def test_subset_larger_than_dataset(small):
    with pytest.raises(ValueError, match='subset=101 is larger than the 100 training images of digits: use at most 100'):
        small.subset(101)

def test_corrupt_cache_is_named_and_rebuilt(tmp_path, small, cache):
    d = idx_folder(small, tmp_path/'mnist')
    a = get_dataset('mnist', data=d)
    fn, = cache.glob('*.npz')
    for bad in (fn.read_bytes()[:len(fn.read_bytes())//3], b'garbage' * 100):   # truncated; not a zip at all
        fn.write_bytes(bad)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always'); b = get_dataset('mnist', data=d)
        msgs = [str(o.message) for o in w if 'cache' in str(o.message)]
        assert len(msgs) == 1 and str(fn) in msgs[0] and 'decoding the source again' in msgs[0], msgs
        assert b.identity == a.identity
        with warnings.catch_warnings(record=True) as w:                 # the rebuilt file reads without a warning
            warnings.simplefilter('always'); get_dataset('mnist', data=d)
        assert not [o for o in w if 'cache' in str(o.message)]

def test_cache_writers_race(small, cache, monkeypatch):
    "Two writers of one cache file at once, forced to interleave: save, save, rename, rename. Both must succeed."
    barrier, savez = threading.Barrier(2, timeout=20), np.savez
    def slow_savez(fn, **kw): savez(fn, **kw); barrier.wait()
    monkeypatch.setattr(rd.np, 'savez', slow_savez)
    res, errs = [], []
    def load():
        try: res.append(rd.cached('race', lambda: small))
        except Exception as e: errs.append(e)
    ts = [threading.Thread(target=load) for _ in range(2)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert not errs, errs
    assert [r.identity for r in res] == [small.identity]*2
    assert [o.name for o in cache.iterdir() if 'tmp' in o.name] == []
    monkeypatch.setattr(rd.np, 'savez', savez)
    assert rd.cached('race', lambda: 1/0).identity == small.identity

CHILD = """
import sys, time; from pathlib import Path
t0 = float(sys.argv[2])
while time.time() < t0: time.sleep(0.001)
from rethink_fastai.data import get_dataset
print(get_dataset(Path(sys.argv[1])).identity)
"""

def test_two_processes_decode_one_archive(tmp_path, small, cache):
    "Two processes started together extract and decode the same archive into one empty cache: both succeed"
    arc = tgz(save_image_folder(small, tmp_path/'digits_png'), tmp_path/'digits.tgz')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))
    for attempt in range(2):                                     # two fresh caches: two chances to collide
        env['RETHINK_CACHE'] = str(tmp_path/f'cache{attempt}')
        # import first, then wait for a common start time, so that both decode at once
        t0 = time.time() + 6
        ps = [subprocess.Popen([sys.executable, '-c', f'import rethink_fastai.data\n{CHILD}', str(arc), str(t0)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in ps]
        for p,(out,err) in zip(ps, outs): assert p.returncode == 0, err[-3000:]
        assert len({o.strip() for o,_ in outs}) == 1
        assert not [o for o in Path(env['RETHINK_CACHE']).rglob('*') if '.tmp' in o.name]

@pytest.mark.skipif(not (SHARED/'mnist').exists(), reason='no shared MNIST copy')
def test_shared_mnist():
    m = get_dataset('mnist', data=SHARED/'mnist')
    assert m.shape == (1,28,28) and len(m.x_train) == 60000 and len(m.x_test) == 10000
    assert torch.bincount(m.y_train).tolist() == [5923,6742,5958,6131,5842,5421,5918,6265,5851,5949]
    assert get_dataset('mnist', data=SHARED/'mnist').identity == m.identity

@pytest.mark.skipif(not (SHARED/'cifar10.tgz').exists() or not os.environ.get('RETHINK_SLOW'),
                    reason='no shared CIFAR-10 copy, or RETHINK_SLOW not set (decoding 60,000 JPEGs takes minutes on 2 cores)')
def test_shared_cifar10():
    c = get_dataset('cifar10', data=SHARED/'cifar10.tgz')
    assert c.shape == (3,32,32) and len(c.x_train) == 50000 and c.order is None
    assert torch.bincount(c.y_train).tolist() == [5000]*10
