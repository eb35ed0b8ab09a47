"Real processes against one `rethink_fastai.store.Store` file: two writers at once, writers killed with SIGKILL, claims of live and stalled processes."
import json, os, signal, sqlite3, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT)) # run from a checkout without installing
from rethink_fastai.store import Store, run_key

N_RUNS, N_SHARED, N_EPOCHS = 100, 10, 20

def _env():
    return {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}

def _spawn(code, *args):
    return subprocess.Popen([sys.executable, '-c', code, *map(str, args)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def _wait_for(pred, timeout=30., what='condition'):
    deadline = time.monotonic()+timeout
    while not pred():
        if time.monotonic()>deadline: raise TimeoutError(f'timed out waiting for {what}')
        time.sleep(0.01)

def _integrity(path):
    with sqlite3.connect(path) as c: return c.execute('PRAGMA integrity_check').fetchone()[0]

# A sweep in miniature: its own runs plus N_SHARED configs that the other writer also runs. Both processes
# wait for a 'go' file, then open the (not yet existing) store and write as fast as they can.
WRITER = r'''
import json, sys, time
from pathlib import Path
from rethink_fastai.store import Store
path, name, n, n_shared, n_epochs, go = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6]), Path(sys.argv[6])
(go.parent/f'{name}.ready').touch()
while not go.exists(): time.sleep(0.001)
t0, shared = time.time(), 0
with Store(path) as store:
    cfgs = [dict(writer='shared', i=i) for i in range(n_shared)] + [dict(writer=name, i=i, seed=i, lr=0.1) for i in range(n)]
    for cfg in cfgs:
        key = store.start(cfg)
        if key is None: continue # finished, or claimed by the other writer
        hist = [dict(epoch=e, train_loss=1/(e+1), train_acc=e/n_epochs, by=name) for e in range(n_epochs)]
        time.sleep(0.002) # the work: the other writer sees the claim meanwhile
        assert store.finish(key, dict(cfg, by=name, test_acc=0.5, history=hist))
        shared += cfg['writer']=='shared'
print(json.dumps(dict(t0=t0, t1=time.time(), shared=shared)))
'''

def test_two_writers(tmp_path):
    path, go = tmp_path/'store.sqlite', tmp_path/'go'
    ps = [_spawn(WRITER, path, nm, N_RUNS, N_SHARED, N_EPOCHS, go) for nm in ('a', 'b')]
    _wait_for(lambda: all((tmp_path/f'{nm}.ready').exists() for nm in 'ab'), what='both writers')
    go.touch()
    outs = [p.communicate(timeout=60) for p in ps]
    for p,(out,err) in zip(ps, outs): assert p.returncode==0, err
    (a0,a1),(b0,b1) = [tuple(json.loads(out)[k] for k in ('t0','t1')) for out,_ in outs]
    assert max(a0, b0) < min(a1, b1), 'the two writers did not overlap in time'
    assert sum(json.loads(out)['shared'] for out,_ in outs) == N_SHARED   # each shared run written by one writer only

    keys = {run_key(dict(writer=nm, i=i, seed=i, lr=0.1)) for nm in 'ab' for i in range(N_RUNS)}
    shared = {run_key(dict(writer='shared', i=i)) for i in range(N_SHARED)}
    with Store(path) as s:
        runs = s.runs(None)
        assert (runs.status=='finished').all()
        assert len(runs)==len(set(runs.key))==2*N_RUNS+N_SHARED
        assert set(runs.key)==keys|shared
        assert s.finished_keys()==keys|shared
        h = s.history()
        assert len(h)==(2*N_RUNS+N_SHARED)*N_EPOCHS
        assert not h.duplicated(['key', 'epoch']).any()
        assert (h.groupby('key').epoch.apply(sorted).apply(lambda e: e==list(range(N_EPOCHS)))).all()
        # each run's history comes from the same finish as its record (never a mix of the two writers)
        m = h.merge(runs[['key', 'by']], on='key', suffixes=('', '_run'))
        assert (m.by==m.by_run).all()
        for k in shared: assert s.record(k)['history'][-1]['epoch']==N_EPOCHS-1
        # how much the two writers interleaved (printed with `pytest -s`)
        by = runs.sort_values('finished').by.tolist()
        print(f'\nwriters a {a1-a0:.2f} s, b {b1-b0:.2f} s, overlap {min(a1,b1)-max(a0,b0):.2f} s, '
              f'{sum(x!=y for x,y in zip(by, by[1:]))} switches between writers in finish order')
    assert _integrity(path)=='ok'

# Starts a run, says so, then hangs: killed between `start` and `finish`.
HANG = r'''
import sys, time
from pathlib import Path
from rethink_fastai.store import Store
store = Store(sys.argv[1])
store.start(dict(arch='mlp1x512', seed=7))
Path(sys.argv[2]).touch()
time.sleep(60)
store.finish(dict(arch='mlp1x512', seed=7), dict(test_acc=1.0))
'''

def test_killed_run_is_not_finished(tmp_path):
    path, marker, cfg = tmp_path/'store.sqlite', tmp_path/'started', dict(arch='mlp1x512', seed=7)
    p = _spawn(HANG, path, marker)
    _wait_for(lambda: marker.exists() or p.poll() is not None, what='the run to start')
    assert p.poll() is None, p.communicate()[1]
    with Store(path) as s: # while its trainer lives, the run is claimed: not started, finished nor failed by another
        assert s.start(cfg) is None and not s.finish(cfg, dict(test_acc=0.1)) and not s.fail(cfg, 'no')
    os.kill(p.pid, signal.SIGKILL); p.wait(timeout=10)
    assert p.returncode==-signal.SIGKILL
    assert _integrity(path)=='ok'
    with Store(path) as s:
        assert s.status(cfg)=='running' and not s.is_finished(cfg)
        assert s.finished_keys()==set() and len(s.runs())==0
        assert s.runs('running').key.tolist()==[run_key(cfg)]
        # the sweep's rerun: its holder is gone, so start takes the run over at once, and finish records it
        key = s.start(cfg)
        s.finish(key, dict(test_acc=0.9, history=[dict(train_loss=1.), dict(train_loss=.5)]))
        assert s.is_finished(cfg) and s.record(key)['test_acc']==0.9
        assert s._read('SELECT attempts FROM runs WHERE key=?', (key,))[0][0]==2
        assert len(s.history(key))==2

# Finishes runs with long histories as fast as it can, until killed: the kill lands inside or between transactions.
LOOP = r'''
import sys, itertools
from rethink_fastai.store import Store
store = Store(sys.argv[1])
for i in itertools.count():
    key = store.start(dict(i=i))
    store.finish(key, dict(i=i, history=[dict(loss=1/(e+1)) for e in range(int(sys.argv[2]))]))
'''

def test_killed_mid_write_is_atomic(tmp_path):
    path, n_epochs = tmp_path/'store.sqlite', 500
    p = _spawn(LOOP, path, n_epochs)
    def n_finished():
        if p.poll() is not None: raise AssertionError(p.communicate()[1])
        if not path.exists(): return 0
        try:
            with sqlite3.connect(path, timeout=10) as c: return c.execute("SELECT count(*) FROM runs WHERE status='finished'").fetchone()[0]
        except sqlite3.OperationalError: return 0 # the schema is not there yet
    _wait_for(lambda: n_finished()>=20, what='20 finished runs')
    os.kill(p.pid, signal.SIGKILL); p.wait(timeout=10)
    assert _integrity(path)=='ok'
    with Store(path) as s:
        runs = s.runs(None)
        fin = runs[runs.status=='finished']
        assert len(fin)>=20 and (runs.status!='failed').all()
        assert (runs.status=='running').sum()<=1 # at most the run in flight
        # every finished run has all of its history, and no other run has any
        counts = s.history().groupby('key').size()
        assert set(counts.index)==set(fin.key) and (counts==n_epochs).all()

# Claims a run with a short lease renewed by its heartbeat, then works on it; stopped (SIGSTOP) meanwhile, it
# stops renewing: when it wakes up, its run belongs to another process and its finish must not write.
STALL = r'''
import sys, time
from pathlib import Path
from rethink_fastai.store import Store
store = Store(sys.argv[1], lease=1.)
with store.heartbeat(every=0.2):
    key = store.start(dict(arch='mlp1x512', seed=8))
    Path(sys.argv[2]).touch()
    while not Path(sys.argv[3]).exists(): time.sleep(0.05)
    print('finish wrote:', store.finish(key, dict(test_acc=0.1, by='stalled')), flush=True)
'''

def test_stalled_holder_loses_its_claim(tmp_path):
    path, started, go, cfg = tmp_path/'store.sqlite', tmp_path/'started', tmp_path/'go', dict(arch='mlp1x512', seed=8)
    p = _spawn(STALL, path, started, go)
    _wait_for(lambda: started.exists() or p.poll() is not None, what='the run to start')
    assert p.poll() is None, p.communicate()[1]
    with Store(path, lease=1.) as s:
        time.sleep(2.)                              # two leases: the live holder's heartbeat keeps the claim
        assert s.start(cfg) is None
        os.kill(p.pid, signal.SIGSTOP)              # a stalled node: alive, but its heartbeat stops
        try:
            time.sleep(1.5)
            key = s.start(cfg)                      # the claim expired: taken over
            assert key == run_key(cfg)
            assert s._read('SELECT pid, attempts FROM runs WHERE key=?', (key,))[0] == (os.getpid(), 2)
            assert s.finish(key, dict(test_acc=0.9, by='taker'))
        finally: os.kill(p.pid, signal.SIGCONT)
        go.touch()
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        assert 'finish wrote: False' in out         # the woken holder wrote nothing
        assert s.record(key)['by'] == 'taker' and s.record(key)['test_acc'] == 0.9

def _finish_one(store, i):
    cfg = dict(via='process', i=i)
    store.finish(store.start(cfg), dict(i=i, history=[dict(loss=1.)]))

def test_store_passed_to_processes(tmp_path):
    "A `Store` handed to a forked child opens its own connection; one sent to a spawned child (pickled) reopens its file"
    import multiprocessing as mp
    with Store(tmp_path/'store.sqlite') as s:
        s.start(dict(via='parent')) # the parent's connection is open and used
        methods = [m for m in ('fork', 'spawn') if m in mp.get_all_start_methods()]
        for i,m in enumerate(methods):
            p = mp.get_context(m).Process(target=_finish_one, args=(s, i))
            p.start(); p.join(60)
            assert p.exitcode==0, m
        assert s.finished_keys()=={run_key(dict(via='process', i=i)) for i in range(len(methods))}
        assert s.status(dict(via='parent'))=='running' # and the parent's connection still works
