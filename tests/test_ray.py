"Sweeps on a local Ray cluster (two workers): the same runs and records as the local executor; the run's threads wherever it runs; killed tasks retried or failed."
import json, os, sqlite3
from pathlib import Path
import pytest

ray = pytest.importorskip('ray')

SPEC = dict(dataset='digits', epochs=3, seeds=(0, 1), spec_kwargs=dict(archs=('mlp1x512',)), train_kwargs=dict(threads=1))   # 3 rows x 2 seeds

@pytest.fixture(scope='module')
def cluster():
    "A local Ray cluster of two one-CPU workers (tiny models: one thread each)"
    old = os.environ.get('OMP_NUM_THREADS'); os.environ['OMP_NUM_THREADS'] = '1'
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100*1024**2)
    yield
    ray.shutdown()
    if old is None: os.environ.pop('OMP_NUM_THREADS')
    else: os.environ['OMP_NUM_THREADS'] = old

def rows(store, sql):
    with sqlite3.connect(store, timeout=30) as c: return c.execute(sql).fetchall()

def records(store):
    from rethink_fastai.store import Store
    with Store(store) as st: return {k: st.record(k) for k in st.finished_keys()}

def test_ray_matches_local(cluster, tmp_path, capsys):
    from rethink_fastai.sweep import sweep
    df_ray = sweep('table1', tmp_path/'ray.sqlite', executor='ray', **SPEC)
    df_loc = sweep('table1', tmp_path/'local.sqlite', executor='local', **SPEC)
    assert len(df_ray) == len(df_loc) == 6 and set(df_ray.key) == set(df_loc.key)
    rr, rl = records(tmp_path/'ray.sqlite'), records(tmp_path/'local.sqlite')
    assert set(rr) == set(rl) and len(rr) == 6
    for k in rl:
        a, b = rr[k], rl[k]
        assert (a['arch'], a['randomization'], a['wd'], a['seed'], a['stopped_because']) == (b['arch'], b['randomization'], b['wd'], b['seed'], b['stopped_because'])
        assert a['steps'] == b['steps'] and len(a['history']) == len(b['history']) == 4
        for ha, hb in zip(a['history'], b['history']):
            for m in ('train_loss', 'train_acc', 'test_loss', 'test_acc', 'batch_loss'):
                if hb[m] is None: assert ha[m] is None          # epoch 0 has no batches
                else: assert ha[m] == pytest.approx(hb[m], rel=1e-5, abs=1e-6), (k, ha['epoch'], m)
        assert a['memorization']['first_fit_epoch'] == b['memorization']['first_fit_epoch']
        assert a['threads'] == b['threads'] == 1
    # resume: a finished store has nothing left to do through either executor
    capsys.readouterr()
    sweep('table1', tmp_path/'ray.sqlite', executor='ray', **SPEC)
    assert '0 run(s) trained' in capsys.readouterr().out
    assert rows(tmp_path/'ray.sqlite', "SELECT count(*), sum(attempts) FROM runs")[0] == (6, 6)

def test_killed_task_retried_or_failed(cluster, tmp_path, capsys):
    from rethink_fastai.sweep import sweep, SweepFailed
    marks = tmp_path/'marks'; marks.mkdir()
    def crash_once(quiet=True, **run):
        "The worker dies (as if killed) the first time it trains the random-labels run"
        m = marks/run['randomization']
        if run['randomization'] == 'random_labels' and not m.exists(): m.touch(); os._exit(1)
        from rethink_fastai.learner import run_experiment
        return run_experiment(quiet=quiet, **run)
    spec = dict(SPEC, seeds=(0,))
    store = tmp_path/'runs.sqlite'
    # killed once, retried by Ray: every run finishes, once
    df = sweep('table1', store, run_fn=crash_once, executor='ray', executor_kwargs=dict(max_retries=1), **spec)
    assert len(df) == 3 and [m.name for m in marks.iterdir()] == ['random_labels']
    assert rows(store, "SELECT status, count(*) FROM runs GROUP BY status") == [('finished', 3)]
    assert rows(store, "SELECT count(*), count(DISTINCT key||epoch) FROM history") == [(12, 12)]

    # killed with no retries left, or raising: recorded as failed, never lost; the rest finish
    def flaky(quiet=True, **run):
        if run.get('wd'): raise ValueError('no weight decay today')
        if run['randomization'] == 'random_labels': os._exit(1)
        from rethink_fastai.learner import run_experiment
        return run_experiment(quiet=quiet, **run)
    store2 = tmp_path/'runs2.sqlite'
    with pytest.raises(SweepFailed, match='2 run\\(s\\) failed'):   # raised after the other run finished
        sweep('table1', store2, run_fn=flaky, executor='ray', executor_kwargs=dict(max_retries=0), **spec)
    st = {(r, (wd or 0) > 0): s for r, wd, s in rows(store2, "SELECT json_extract(config, '$.randomization'), json_extract(config, '$.wd'), status FROM runs")}
    assert st == {('true_labels', True): 'failed', ('true_labels', False): 'finished', ('random_labels', False): 'failed'}, st
    errs = [e for (e,) in rows(store2, "SELECT error FROM runs WHERE status='failed'")]
    assert any('no weight decay today' in e for e in errs) and len(errs) == 2
    # the next sweep reruns the failed runs only
    capsys.readouterr()
    df = sweep('table1', store2, executor='ray', **spec)
    assert '2 run(s) trained' in capsys.readouterr().out and len(df) == 3
    assert rows(store2, "SELECT status, count(*) FROM runs GROUP BY status") == [('finished', 3)]

def test_threads_are_the_runs(cluster, tmp_path):
    "Every executor trains with the run's `threads`, not the worker's CPUs (Ray: `cpus_per_run`) nor the driver's thread count"
    import torch
    from rethink_fastai.sweep import sweep
    def seen_threads(quiet=True, **run):
        "A stand-in trainer that records the thread count torch trains with"
        import torch
        return dict(arch=run['arch'], seed=run['seed'], torch_threads=torch.get_num_threads(), stopped_because='fitted', history=[])
    spec = dict(SPEC, seeds=(0,))
    got = {}
    for ex, kw in (('local', {}), ('ray', dict(cpus_per_run=2)), ('slurm', dict(cluster='local', folder=str(tmp_path/'jobs'), poll=0.5, cpus_per_run=2))):
        torch.set_num_threads(2)
        for threads in (1, 2):
            df = sweep('table1', tmp_path/f'{ex}{threads}.sqlite', run_fn=seen_threads, executor=ex, executor_kwargs=kw,
                       **dict(spec, train_kwargs=dict(threads=threads)))
            got[ex, threads] = sorted(df.torch_threads)
        assert torch.get_num_threads() == 2                 # the driver's own count is left as it was
    assert got == {(ex, t): [t]*3 for ex in ('local', 'ray', 'slurm') for t in (1, 2)}, got
