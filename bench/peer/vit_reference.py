#!/usr/bin/python3
"""PyTorch reference of the zoo's vision transformers (`vit`, `vit-7`; src/zoo/vit.ts).

Run with Debian's interpreter (`/usr/bin/python3`, PyTorch 1.13). Built from the pieces the issue
names: a Conv2d(1, 64, P, P) patch embedding, a class token and learned positions, pre-norm blocks
around nn.MultiheadAttention(64, 4), a final LayerNorm and a Linear head on the class token.
The benchmark's PyTorch peer can import `build_vit` from here.

Commands
  count     prints the parameter count of `vit` (patches of 4) and `vit-7` (patches of 7) as one
            JSON line; both are 205,962.
  fixture   writes the numeric-parity fixture test/nn/vit-parity.test.ts reads: a tiny ViT's
            weights (PyTorch state-dict names and layouts), a batch of MNIST-sized inputs and
            labels, and, computed in float64, the logits, the label-smoothed cross-entropy and
            the gradient of every parameter. Regenerate with
              /usr/bin/python3 bench/peer/vit_reference.py fixture
            (deterministic: fixed seeds; the file changes only if this script or PyTorch's
            arithmetic does).

Layouts are PyTorch's (NCHW input, Conv2d weight [out, in, kh, kw], Linear weight [out, in],
MultiheadAttention's in_proj_weight rows = query, key, value projections stacked). The mapping
to mnist-lab's weight names is in test/nn/vit-parity.test.ts.
"""

import argparse
import json
import os
import struct

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURE = os.path.normpath(os.path.join(HERE, '..', '..', 'test', 'fixtures', 'vit', 'tiny-vit-torch.safetensors'))

# The tiny model of the fixture: every code path of the zoo's vit at a fraction of the size.
TINY = dict(patch=7, dim=16, depth=2, heads=2, mlp_dim=32, classes=10)
FIXTURE_BATCH = 3
LABEL_SMOOTHING = 0.1


class Block(nn.Module):
    """Pre-norm encoder block: x + attn(norm1(x)), then + mlp(norm2(x)); GELU exact (erf)."""

    def __init__(self, dim, heads, mlp_dim, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, patch=4, dim=64, depth=6, heads=4, mlp_dim=128, classes=10, image=28, channels=1, eps=1e-5):
        super().__init__()
        self.patch_embed = nn.Conv2d(channels, dim, patch, patch)
        tokens = (image // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_dim, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):  # (B, C, H, W)
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, N, D), patches row-major
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x[:, 0]))  # class token -> (B, K)


def build_vit(patch=4, classes=10):
    """The zoo's `vit` (patch 4) or `vit-7` (patch 7)."""
    return ViT(patch=patch, dim=64, depth=6, heads=4, mlp_dim=128, classes=classes)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer (the format: u64 header length, JSON header, raw little-endian data)."""
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float64: 'F64', torch.float32: 'F32', torch.int32: 'I32'}[t.dtype]
        data = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header, separators=(',', ':')).encode()
    encoded += b' ' * (-len(encoded) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fixture(path):
    torch.manual_seed(0)
    model = ViT(**TINY)
    # Every parameter random and away from its initial value (gammas near 1, biases non-zero), so a
    # weight loaded into the wrong place cannot go unnoticed; values are float32-exact.
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_gamma = 'norm' in name and name.endswith('weight')
            p.copy_(1 + 0.1 * torch.randn(p.shape) if is_gamma else 0.3 * torch.randn(p.shape))
    model = model.double()
    images = torch.randn(FIXTURE_BATCH, 1, 28, 28).float().double()
    labels = torch.tensor([3, 7, 1])
    logits = model(images)
    loss = nn.functional.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
    loss.backward()
    tensors = {name: p.detach() for name, p in model.named_parameters()}
    tensors.update({'grad.' + name: p.grad for name, p in model.named_parameters()})
    tensors['input'] = images
    tensors['labels'] = labels.to(torch.int32)
    tensors['logits'] = logits.detach()
    tensors['loss'] = loss.detach().reshape([])
    config = dict(TINY, batch=FIXTURE_BATCH, label_smoothing=LABEL_SMOOTHING, layer_norm_eps=1e-5)
    write_safetensors(path, tensors, {
        'config': json.dumps(config),
        'torch': torch.__version__,
        'made_by': 'bench/peer/vit_reference.py fixture',
    })
    print(json.dumps({'fixture': os.path.relpath(path), 'parameters': count_parameters(model), 'loss': loss.item()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('count', help='parameter counts of vit and vit-7')
    fix = sub.add_parser('fixture', help='write the parity fixture')
    fix.add_argument('--out', default=DEFAULT_FIXTURE)
    args = parser.parse_args()
    if args.command == 'count':
        print(json.dumps({'vit': count_parameters(build_vit(4)), 'vit-7': count_parameters(build_vit(7))}))
    else:
        fixture(args.out)


if __name__ == '__main__':
    main()
