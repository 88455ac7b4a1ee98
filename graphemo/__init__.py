"""graphemo: emotion recognition from body gesture and face as skeleton graphs.

The package reads like the pipeline::

    graphemo.sources      where keypoints come from: the synthetic generator, video extraction (MediaPipe)
    graphemo.keypoints    OpenPose JSON in/out, person tracking
    graphemo.labels       label sources (Aff-Wild2/ABAW, DFEW, CSV; a registry) in one canonical emotion order
    graphemo.store        the prepared on-disk store: reader, writer, preparing OpenPose folders
    graphemo.graphs       normalisation, features, augmentation, splits, input kinds and their PyG datasets
    graphemo.skeleton     layouts: joints, bones, mirror permutations (BODY_25, COCO-18, face, hands)
    graphemo.subsampling  diversity-aware frame selection and redundancy reports
    graphemo.models       registry of ANN / CNN / GNN / ST-GCN / transformer models
    graphemo.training     experiment configs, training loop, metrics, MLflow tracking, sweeps
    graphemo.inference    model bundles, batch and streaming prediction, export

Option groups are specs (:mod:`graphemo.specs`): one frozen dataclass each, used as the YAML section, the
library argument and the bundle record. Importing ``graphemo`` itself is cheap; heavy modules (torch, mlflow)
load on first use.
"""

__version__ = "0.1.0"

import warnings

# torch_geometric scripts a helper with torch.jit.script when imported, which this torch deprecates: a warning
# about PyG's code, not the user's, that would open every command's output.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
