"`--tracker tensorboard|wandb|csv` on `rethink run` and `rethink sweep`: fastai's own callbacks log the run's metrics."
import csv, json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

EXE = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
RUN = ['--dataset', 'digits', '--randomization', 'random_labels', '--arch', 'mlp1x64', '--epochs', '3', '--no-until-fit',
       '--device', 'cpu', '--quiet']
ENV = dict(os.environ, OMP_NUM_THREADS='1', WANDB_MODE='offline', WANDB_SILENT='true')

def rethink(*args, cwd=None):
    r = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV, cwd=cwd)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r

def test_tensorboard_events_hold_the_run_metrics(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    rethink('run', *RUN, '--tracker', 'tensorboard', '--out', tmp_path)
    rec = json.loads((tmp_path/'result.json').read_text())
    (run_dir,) = (tmp_path/'tensorboard').iterdir()
    ea = EventAccumulator(str(run_dir)); ea.Reload()
    tags = set(ea.Tags()['scalars'])
    assert {'train_loss', 'valid_loss', 'accuracy', 'train_eval_loss', 'train_eval_acc'} <= tags, tags
    acc = [e.value for e in ea.Scalars('train_eval_acc')]
    assert len(acc) == sum(h['train_acc'] is not None for h in rec['history'][1:]) >= 1 # a point an epoch the schedule evaluated
    assert acc[-1] == pytest.approx(rec['history'][-1]['train_acc'], abs=1e-6)
    test = [e.value for e in ea.Scalars('accuracy')]
    assert test[-1] == pytest.approx(rec['history'][-1]['test_acc'], abs=1e-6)
    assert rec['config']['tracker'] == 'tensorboard'

def wandb_history(run_file:Path)->list:
    """The `history` records of a W&B run log (`run-ID.wandb`), one dict per `wandb.log` call.
    The log is LevelDB's record format (32 KiB blocks of chunks with a 7-byte header: crc, length, type) after W&B's
    7-byte header, each record a `wandb_internal_pb2.Record`; wandb 0.2x no longer ships a Python reader for it."""
    import struct
    from wandb.proto import wandb_internal_pb2 as pb
    data, pos, buf, recs = run_file.read_bytes(), 7, b'', []
    assert data[:4] == b':W&B'
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7: pos += 32768 - pos % 32768; continue
        _, n, kind = struct.unpack('<IHB', data[pos:pos+7]); chunk = data[pos+7:pos+7+n]; pos += 7 + n
        if kind in (1, 2): buf = chunk                                     # a whole record, or its first chunk
        elif kind in (3, 4): buf += chunk                                  # its middle or last chunk
        if kind in (1, 4): r = pb.Record(); r.ParseFromString(buf); recs.append(r)
    return [{i.key or '/'.join(i.nested_key): json.loads(i.value_json) for i in r.history.item} for r in recs if r.WhichOneof('record_type') == 'history']

def test_wandb_offline_run_folder_holds_the_metrics(tmp_path):
    rethink('run', *RUN, '--tracker', 'wandb', '--out', tmp_path)
    rec = json.loads((tmp_path/'result.json').read_text())
    (run_dir,) = [p for p in (tmp_path/'wandb').iterdir() if p.name.startswith('offline-run-')]
    (run_file,) = run_dir.glob('*.wandb')                                 # the run's log, for `wandb sync`
    epochs = [h for h in wandb_history(run_file) if 'train_eval_acc' in h]
    assert len(epochs) == 3
    assert epochs[-1]['train_eval_acc'] == pytest.approx(rec['history'][-1]['train_acc'], abs=1e-6)
    assert epochs[-1]['accuracy'] == pytest.approx(rec['history'][-1]['test_acc'], abs=1e-6)
    assert epochs[-1]['valid_loss'] == pytest.approx(rec['history'][-1]['test_loss'], abs=1e-5)

def test_csv_on_a_sweep(tmp_path):
    spec = tmp_path/'s.toml'
    spec.write_text('name = "tiny"\n[base]\ndataset = "digits"\narch = "mlp1x64"\nepochs = 2\nuntil_fit = false\ndevice = "cpu"\n'
                    '[grid]\nrandomization = ["true_labels", "random_labels"]\n')
    rethink('sweep', '--config', spec, '--store', tmp_path/'runs.sqlite', '--tracker', 'csv', '--quiet', cwd=tmp_path)
    files = sorted((tmp_path/'rethink_logs'/'csv').glob('*.csv'))
    assert len(files) == 2
    for f in files:
        rows = list(csv.DictReader(f.open()))
        assert len(rows) == 2 and {'train_loss', 'valid_loss', 'accuracy', 'train_eval_acc'} <= set(rows[0])
