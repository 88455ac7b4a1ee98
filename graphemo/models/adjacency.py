"""Partitioned skeleton adjacency for ST-GCN, built from a layout's PyG ``edge_index``.

ST-GCN (Yan et al., 2018) splits each joint's neighbourhood (itself and its 1-hop neighbours) into
subsets and gives each subset its own weights. The *spatial configuration* partition has three:

* root: neighbours as far from the body centre (the neck) as the joint itself, the joint included;
* centripetal: neighbours closer to the centre;
* centrifugal: neighbours farther from the centre.

Each subset's matrix is column-normalised by the joint's degree, so the graph convolution averages over
the neighbourhood. ``A[k, v, w]`` is the weight of neighbour ``v`` in joint ``w``'s subset ``k``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import add_self_loops, degree, to_dense_adj

from graphemo.skeleton import Layout

PARTITIONS = ("spatial", "uniform")


def normalized_adjacency(layout: Layout) -> Tensor:
    """``(V, V)`` adjacency with self-loops, column ``w`` divided by joint ``w``'s degree."""
    v = layout.num_joints
    edge_index, _ = add_self_loops(layout.edge_index(), num_nodes=v)
    adjacency = to_dense_adj(edge_index, max_num_nodes=v)[0]
    return adjacency / degree(edge_index[1], num_nodes=v)[None, :]


def partitioned_adjacency(layout: Layout, partition: str = "spatial") -> Tensor:
    """Stacked subset adjacencies ``(K, V, V)`` float32.

    Args:
        layout: the skeleton (its edges and its centre joint, the neck).
        partition: ``"spatial"`` (K = 3: root, centripetal, centrifugal) or ``"uniform"`` (K = 1).
    """
    if partition not in PARTITIONS:
        raise ValueError(f"partition must be one of {PARTITIONS}, got {partition!r}")
    a = normalized_adjacency(layout)
    if partition == "uniform":
        return a[None]
    hops = torch.from_numpy(layout.hop_distance()[:, layout.center]).float()
    if not torch.isfinite(hops).all():
        missing = [layout.joints[i] for i in torch.nonzero(~torch.isfinite(hops)).flatten().tolist()]
        raise ValueError(f"layout {layout.name}: joints not connected to the centre: {missing[:5]}")
    neighbour, joint = hops[:, None], hops[None, :]  # rows v (neighbour), columns w (joint)
    return torch.stack([a * (neighbour == joint), a * (neighbour < joint), a * (neighbour > joint)])
