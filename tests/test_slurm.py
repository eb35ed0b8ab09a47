"Sweeps through submitit (the Slurm executor), run here with submitit's local executor: the same results as local; died or raised jobs."
import os, sqlite3
import pytest

pytest.importorskip('submitit')

def test_slurm_local_matches_local(tmp_path, monkeypatch):
    import torch
    from rethink_fastai.sweep import sweep
    from rethink_fastai.store import Store
    monkeypatch.setenv('OMP_NUM_THREADS', '1')   # the jobs are processes of their own: one thread each
    marks = tmp_path/'marks'; marks.mkdir()
    def flaky(quiet=True, **run):
        "weight decay: the job dies (as if killed) the first time; random labels: the run raises; otherwise it trains"
        if run['wd'] and not (marks/'died').exists(): (marks/'died').touch(); os._exit(1)
        if run['randomization'] == 'random_labels': raise RuntimeError('boom')
        from rethink_fastai.learner import run_experiment
        return run_experiment(quiet=quiet, **run)
    spec = dict(dataset='digits', epochs=2, spec_kwargs=dict(archs=('mlp1x512',)))
    ex = dict(cluster='local', folder=str(tmp_path/'jobs'), poll=0.5, max_retries=1)
    sweep('table1', tmp_path/'slurm.sqlite', run_fn=flaky, executor='slurm', executor_kwargs=ex, **spec)
    with sqlite3.connect(tmp_path/'slurm.sqlite') as c:
        got = {(r, wd > 0): (s, e) for r, wd, s, e in c.execute(
            "SELECT json_extract(config, '$.randomization'), json_extract(config, '$.wd'), status, error FROM runs")}
    assert (marks/'died').exists()                                   # the died job was resubmitted and finished
    assert got[('true_labels', True)][0] == 'finished' and got[('true_labels', False)][0] == 'finished'
    assert got[('random_labels', False)][0] == 'failed' and 'boom' in got[('random_labels', False)][1]   # raised: failed, not lost
    # the finished runs are those of the local executor, result for result
    torch.set_num_threads(1)
    dl = sweep('table1', tmp_path/'local.sqlite', **spec)
    with Store(tmp_path/'slurm.sqlite') as a, Store(tmp_path/'local.sqlite') as b:
        fin = a.finished_keys()
        assert len(fin) == 2 and fin <= set(dl.key)
        for k in fin:
            ra, rb = a.record(k), b.record(k)
            for m in ('train_acc', 'test_acc', 'train_loss'): assert ra[m] == pytest.approx(rb[m], rel=1e-5), (k, m)
            assert [h['train_acc'] for h in ra['history']] == pytest.approx([h['train_acc'] for h in rb['history']], rel=1e-5)
