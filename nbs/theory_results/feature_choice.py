"""The feature maps' settings compared on a held-out split of the TRAINING set (never the test set); output in feature_choice.log.

    OMP_NUM_THREADS=1 PYTHONPATH=. python nbs/theory_results/feature_choice.py mnist   # or cifar
"""
# choose feature defaults on a held-out part of the TRAINING set (never the test set)
import torch, time, sys
torch.set_num_threads(1)
from rethink_fastai.data import get_dataset
from rethink_fastai.theory import *
def val(ds, feats, n=2000, nv=2000, l2=0., **kw):
    g = torch.Generator().manual_seed(0); idx = torch.randperm(len(ds.x_train), generator=g)
    tr, va = idx[:n], idx[n:n+nv]
    t=time.time(); f = feats(ds.x_train[torch.cat([tr,va])], **kw); ft=time.time()-t
    x, xv = f[:n], f[n:]
    gam = default_gamma(x.shape[1]) if feats is pixels else median_gamma(x)
    Y = torch.nn.functional.one_hot(ds.y_train[tr], ds.c).double()
    a,_ = kernel_solve(x, Y, gam, 'dense', l2)
    err = (kernel_matmul(x, a, gam, rows=xv).argmax(1) != ds.y_train[va]).float().mean().item()
    return dict(d=x.shape[1], gamma=round(gam,5), val_error=round(err,4), feat_s=round(ft,1))
which = sys.argv[1]
if which=='mnist':
    ds = get_dataset('mnist', '/work/shared/data/mnist')
    print('pixels', val(ds, pixels), flush=True)
    print('gabor', val(ds, gabor_features), flush=True)
    print('gabor pool 7', val(ds, gabor_features, pool=7), flush=True)
    print('gabor 3 wavelengths', val(ds, gabor_features, wavelengths=(3.,6.,12.), size=13), flush=True)
else:
    ds = get_dataset('cifar10', '/work/shared/data/cifar10.tgz')
    print('pixels', val(ds, pixels), flush=True)
    print('random_conv', val(ds, random_conv_features), flush=True)
    print('random_conv l2=0.1', val(ds, random_conv_features, l2=0.1), flush=True)
    print('random_conv (256,1024) out 2', val(ds, random_conv_features, widths=(256,1024), out_size=2), flush=True)
    print('random_conv 1 layer 1024 out 4', val(ds, random_conv_features, widths=(1024,), out_size=4), flush=True)
