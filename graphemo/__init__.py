"""graphemo: emotion recognition from body gesture and face as skeleton graphs.

The package reads like the pipeline::

    graphemo.skeleton     layouts: joints, bones, mirror permutations (BODY_25, COCO-18, face, hands)
    graphemo.keypoints    OpenPose JSON in/out, person tracking, the synthetic data generator, video extraction
    graphemo.labels       Aff-Wild2 (ABAW), DFEW and CSV labels in one canonical emotion order
    graphemo.graphs       the prepared on-disk store, normalisation, augmentation, PyG datasets, renderer
    graphemo.subsampling  diversity-aware frame selection and redundancy reports
    graphemo.models       registry of ANN / CNN / GNN / ST-GCN / transformer models
    graphemo.training     experiment configs, training loop, metrics, MLflow tracking, sweeps
    graphemo.inference    model bundles, batch and streaming prediction, export

Importing ``graphemo`` itself is cheap; heavy modules (torch, mlflow) load on first use.
"""

__version__ = "0.1.0"
